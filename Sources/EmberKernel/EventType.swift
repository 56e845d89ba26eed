/// `perf_event_attr.type`: the PMU.
public struct EventType: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// `PERF_TYPE_HARDWARE`
    public static let hardware = EventType(rawValue: 0)
    /// `PERF_TYPE_SOFTWARE`
    public static let software = EventType(rawValue: 1)
    /// `PERF_TYPE_TRACEPOINT`
    public static let tracepoint = EventType(rawValue: 2)
    /// `PERF_TYPE_HW_CACHE`
    public static let hardwareCache = EventType(rawValue: 3)
    /// `PERF_TYPE_RAW`
    public static let raw = EventType(rawValue: 4)
    /// `PERF_TYPE_BREAKPOINT`
    public static let breakpoint = EventType(rawValue: 5)
}
