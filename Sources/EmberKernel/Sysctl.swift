#if canImport(Glibc)
import Glibc
#endif

/// The perf sysctls whose values Ember names in its advice.
public enum Sysctl: String, Sendable {
    case perfEventParanoid = "kernel.perf_event_paranoid"
    case perfEventMaxSampleRate = "kernel.perf_event_max_sample_rate"
    case perfEventMlockKB = "kernel.perf_event_mlock_kb"
    case perfEventMaxStack = "kernel.perf_event_max_stack"
    case kptrRestrict = "kernel.kptr_restrict"

    public var path: String { "/proc/sys/" + String(rawValue.map { $0 == "." ? "/" : $0 }) }

    /// The current integer value, or nil when unreadable.
    public var value: Int? {
        guard let text = readSmallFile(path) else { return nil }
        return Int(text.trimmed)
    }
}

extension StringProtocol {
    /// The text without leading and trailing whitespace.
    public var trimmed: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
