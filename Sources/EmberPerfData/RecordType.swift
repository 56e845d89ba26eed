/// `perf_event_header.type`: kernel record types (below 64) and the ones perf's tools add (64 and up).
public struct RecordType: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let mmap = RecordType(rawValue: 1)
    public static let lost = RecordType(rawValue: 2)
    public static let comm = RecordType(rawValue: 3)
    public static let exit = RecordType(rawValue: 4)
    public static let throttle = RecordType(rawValue: 5)
    public static let unthrottle = RecordType(rawValue: 6)
    public static let fork = RecordType(rawValue: 7)
    public static let read = RecordType(rawValue: 8)
    public static let sample = RecordType(rawValue: 9)
    public static let mmap2 = RecordType(rawValue: 10)
    public static let lostSamples = RecordType(rawValue: 13)
    public static let switchTask = RecordType(rawValue: 14)
    public static let switchCPUWide = RecordType(rawValue: 15)
    /// `PERF_RECORD_HEADER_BUILD_ID`
    public static let buildID = RecordType(rawValue: 67)
    /// `PERF_RECORD_FINISHED_ROUND`: everything before it may be sorted by time and handed on.
    public static let finishedRound = RecordType(rawValue: 68)
    /// `PERF_RECORD_AUXTRACE`: its payload follows the record and is not counted in `header.size`.
    public static let auxtrace = RecordType(rawValue: 71)
    /// `PERF_RECORD_COMPRESSED`
    public static let compressed = RecordType(rawValue: 81)
    /// `PERF_RECORD_COMPRESSED2` (perf 6.16 and later): an aligned variant Ember does not read yet.
    public static let compressed2 = RecordType(rawValue: 83)
}

/// The CPU mode in the low bits of `perf_event_header.misc`.
public enum CPUMode: UInt16, Sendable {
    case unknown = 0, kernel = 1, user = 2, hypervisor = 3, guestKernel = 4, guestUser = 5

    public init(misc: UInt16) { self = CPUMode(rawValue: misc & 7) ?? .unknown }
}

/// Bits of `perf_event_header.misc` beyond the CPU mode.
public enum RecordMisc {
    /// `PERF_RECORD_MISC_COMM_EXEC` on COMM: the name changed because of exec.
    public static let commExec: UInt16 = 0x2000
    /// `PERF_RECORD_MISC_SWITCH_OUT` on SWITCH: the task left the CPU (else it came back).
    public static let switchOut: UInt16 = 0x2000
    /// `PERF_RECORD_MISC_SWITCH_OUT_PREEMPT` on SWITCH: it left still runnable (preempted), not blocked.
    public static let switchOutPreempt: UInt16 = 0x4000
    /// `PERF_RECORD_MISC_MMAP_BUILD_ID` on MMAP2: a build-id replaces the device and inode fields.
    public static let mmapBuildID: UInt16 = 0x4000
    /// `PERF_RECORD_MISC_BUILD_ID_SIZE` on HEADER_BUILD_ID: the size byte is valid.
    public static let buildIDSize: UInt16 = 0x8000
}

/// Markers inside a callchain that switch the context of the addresses after them (`enum perf_callchain_context`).
public enum CallchainContext {
    public static let hypervisor: UInt64 = 0 &- 32
    public static let kernel: UInt64 = 0 &- 128
    public static let user: UInt64 = 0 &- 512
    public static let guest: UInt64 = 0 &- 2048
    public static let guestKernel: UInt64 = 0 &- 2176
    public static let guestUser: UInt64 = 0 &- 2560
    /// `PERF_CONTEXT_MAX`: every value at or above it is a marker, not an address.
    public static let max: UInt64 = 0 &- 4095
    /// The markers the kernel writes; any other value at or above `max` is corruption.
    public static let known: Set<UInt64> = [hypervisor, kernel, user, guest, guestKernel, guestUser]
}
