/// The CPUs the kernel has online, from `/sys/devices/system/cpu/online` (`0-3,5`).
public enum OnlineCPUs {
    public static func list() -> [Int32] {
        guard let text = readSmallFile("/sys/devices/system/cpu/online") else { return [0] }
        return parseList(text.trimmed)
    }

    /// Parses the kernel's CPU list syntax.
    public static func parseList(_ text: String) -> [Int32] {
        var cpus: [Int32] = []
        for part in text.split(separator: ",") {
            let bounds = part.split(separator: "-")
            if bounds.count == 2, let lo = Int32(bounds[0]), let hi = Int32(bounds[1]), lo <= hi {
                cpus.append(contentsOf: lo...hi)
            } else if let one = Int32(part) {
                cpus.append(one)
            }
        }
        return cpus.isEmpty ? [0] : cpus
    }
}
