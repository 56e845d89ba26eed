/// `perf_event_attr.sample_type` (`enum perf_event_sample_format`).
public struct SampleType: OptionSet, Hashable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let ip = SampleType(rawValue: 1 << 0)
    public static let tid = SampleType(rawValue: 1 << 1)
    public static let time = SampleType(rawValue: 1 << 2)
    public static let addr = SampleType(rawValue: 1 << 3)
    public static let read = SampleType(rawValue: 1 << 4)
    public static let callchain = SampleType(rawValue: 1 << 5)
    public static let id = SampleType(rawValue: 1 << 6)
    public static let cpu = SampleType(rawValue: 1 << 7)
    public static let period = SampleType(rawValue: 1 << 8)
    public static let streamID = SampleType(rawValue: 1 << 9)
    public static let raw = SampleType(rawValue: 1 << 10)
    public static let branchStack = SampleType(rawValue: 1 << 11)
    public static let regsUser = SampleType(rawValue: 1 << 12)
    public static let stackUser = SampleType(rawValue: 1 << 13)
    public static let weight = SampleType(rawValue: 1 << 14)
    public static let dataSource = SampleType(rawValue: 1 << 15)
    public static let identifier = SampleType(rawValue: 1 << 16)
    public static let transaction = SampleType(rawValue: 1 << 17)
    public static let regsIntr = SampleType(rawValue: 1 << 18)
    public static let physAddr = SampleType(rawValue: 1 << 19)
    public static let aux = SampleType(rawValue: 1 << 20)
    public static let cgroup = SampleType(rawValue: 1 << 21)
    public static let dataPageSize = SampleType(rawValue: 1 << 22)
    public static let codePageSize = SampleType(rawValue: 1 << 23)
    public static let weightStruct = SampleType(rawValue: 1 << 24)
}

/// `perf_event_attr.read_format` (`enum perf_event_read_format`): what a read(2) of the event (or a sample's
/// PERF_SAMPLE_READ block) holds after the value.
public struct ReadFormat: OptionSet, Hashable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let totalTimeEnabled = ReadFormat(rawValue: 1 << 0)
    public static let totalTimeRunning = ReadFormat(rawValue: 1 << 1)
    public static let id = ReadFormat(rawValue: 1 << 2)
    public static let group = ReadFormat(rawValue: 1 << 3)
    public static let lost = ReadFormat(rawValue: 1 << 4)
}
