import EmberKernel
import EmberSymbols

/// Facts about this machine for the feature sections of a recording.
enum SystemInfo {
    static var cpuDescription: String? {
        guard let text = readSmallFile("/proc/cpuinfo") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") { return line[line.index(after: colon)...].trimmed }
        }
        return nil
    }

    static var totalMemoryKB: UInt64? {
        guard let text = readSmallFile("/proc/meminfo") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            return line.split(separator: " ").dropFirst().first.flatMap { UInt64($0) }
        }
        return nil
    }

    /// The running kernel's build-id, from the notes it exports in /sys/kernel/notes.
    static var kernelBuildID: [UInt8]? {
        guard let text = readSmallFileBytes("/sys/kernel/notes") else { return nil }
        var o = 0
        func u32(_ at: Int) -> Int { Int(text[at]) | Int(text[at + 1]) << 8 | Int(text[at + 2]) << 16 | Int(text[at + 3]) << 24 }
        while o + 12 <= text.count {
            let namesz = u32(o), descsz = u32(o + 4), type = u32(o + 8)
            let name = o + 12, desc = name + (namesz + 3) / 4 * 4
            guard desc + descsz <= text.count else { return nil }
            if type == 3, namesz == 4, Array(text[name..<(name + 3)]) == Array("GNU".utf8) {
                return Array(text[desc..<(desc + descsz)])
            }
            o = desc + (descsz + 3) / 4 * 4
        }
        return nil
    }
}

/// The version string written into recordings.
public enum EmberVersion {
    public static let string = "ember 0.1.0"
}
