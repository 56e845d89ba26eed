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
}
