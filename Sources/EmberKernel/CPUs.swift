/// The CPUs the kernel has online, from `/sys/devices/system/cpu/online` (`0-3,5`).
public enum OnlineCPUs {
    public static func list() -> [Int32] {
        guard let text = readSmallFile("/sys/devices/system/cpu/online") else { return [0] }
        return parse(text.trimmed) ?? [0]
    }

    /// Parses the kernel's CPU list syntax (`0-3,6`, as perf's `-C` and `--cpu` take it); nil when any part is not
    /// a CPU or a rising range of them, or nothing is listed.
    public static func parse(_ text: String) -> [Int32]? {
        var cpus: [Int32] = []
        for part in text.split(separator: ",") {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map { Int32($0.trimmed) }
            guard (1...2).contains(bounds.count), let lo = bounds.first ?? nil, let hi = bounds.last ?? nil,
                  lo >= 0, lo <= hi, hi - lo < 65536 else { return nil }
            cpus.append(contentsOf: lo...hi)
        }
        return cpus.isEmpty ? nil : cpus
    }
}
