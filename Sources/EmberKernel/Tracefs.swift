#if canImport(Glibc)
import Glibc
#endif

/// tracefs, where tracepoints are described: their ids (the perf `config`) and record formats.
public enum Tracefs {
    public static let path = "/sys/kernel/tracing"

    /// The tracefs root, mounting it first when it is not mounted and this process may (root).
    public static func mounted() throws -> String {
        if isMounted { return path }
        // Mounted with its default mode (0700): there, but only root may look inside.
        if errno == EACCES { throw TracefsError.notReadable }
        guard geteuid() == 0 else {
            throw TracefsError.notMounted(advice: "mount it as root with: mount -t tracefs nodev \(path)")
        }
        if mount("nodev", path, "tracefs", 0, nil) != 0, !isMounted {
            throw TracefsError.notMounted(advice: "mounting it failed (\(Errno.current)); is CONFIG_TRACING set?")
        }
        return path
    }

    private static var isMounted: Bool { access(path + "/events", F_OK) == 0 }

    /// The id of `system:name`, or nil when there is no such tracepoint.
    public static func eventID(system: String, name: String) -> UInt64? {
        readSmallFile("\(path)/events/\(system)/\(name)/id").flatMap { UInt64($0.trimmed) }
    }

    public static func format(system: String, name: String) -> String? {
        readSmallFile("\(path)/events/\(system)/\(name)/format")
    }

    /// Every tracepoint as `system:name`, sorted.
    public static func allEvents() -> [String] {
        var out: [String] = []
        for system in directoryEntries("\(path)/events", directoriesOnly: true) {
            for name in directoryEntries("\(path)/events/\(system)", directoriesOnly: true) where access("\(path)/events/\(system)/\(name)/id", F_OK) == 0 {
                out.append("\(system):\(name)")
            }
        }
        return out.sorted()
    }

    /// Tracepoints matching a `system:name` glob (`sched:*`, `*:sys_enter_open*`).
    public static func events(matching pattern: String) -> [String] {
        allEvents().filter { glob(pattern, $0) }
    }

    /// Names close to a misspelled one, for the error message.
    public static func suggestions(for wanted: String, limit: Int = 3) -> [String] {
        let all = allEvents()
        let name = wanted.split(separator: ":").last.map(String.init) ?? wanted
        let scored = all.map { ($0, editDistance(name, String($0.split(separator: ":").last ?? ""))) }
        return scored.filter { $0.1 <= max(2, name.count / 3) }.sorted { $0.1 < $1.1 }.prefix(limit).map(\.0)
    }

    /// fnmatch(3) without flags.
    static func glob(_ pattern: String, _ text: String) -> Bool {
        fnmatch(pattern, text, 0) == 0
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        var row = Array(0...b.count)
        for i in 1...max(1, a.count) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in 1...max(1, b.count) where !b.isEmpty {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return a.isEmpty ? b.count : row[b.count]
    }
}

public enum TracefsError: Error, CustomStringConvertible {
    case notMounted(advice: String)
    case notReadable
    public var description: String {
        switch self {
        case .notMounted(let advice): return "tracefs is not mounted at \(Tracefs.path); \(advice)"
        case .notReadable:
            return "tracefs at \(Tracefs.path) is readable by root only (its mode is 0700); run as root, or let others read it with: mount -o remount,mode=755 \(Tracefs.path)"
        }
    }
}
