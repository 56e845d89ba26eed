/// HEADER_CLOCK_DATA, which `perf record -k CLOCK` writes: one moment read on the wall clock and on the clock the
/// samples are stamped with, so that sample times convert to times of day.
public struct ClockData: Equatable, Sendable {
    /// The samples' clock, a `clockid_t` (`CLOCK_MONOTONIC` is 1).
    public var clockID: Int32
    /// The wall clock at that moment, in nanoseconds since the epoch.
    public var wallClock: UInt64
    /// The samples' clock at that moment, in nanoseconds.
    public var clockTime: UInt64

    public init(clockID: Int32, wallClock: UInt64, clockTime: UInt64) {
        self.clockID = clockID
        self.wallClock = wallClock
        self.clockTime = clockTime
    }

    /// Parses the section: u32 version (1), u32 clockid, u64 wall-clock ns, u64 clockid ns.
    public init?(section b: UnsafeRawBufferPointer) {
        guard let version = b.u32(0), version >= 1, let id = b.u32(4), let wall = b.u64(8), let clock = b.u64(16) else { return nil }
        self.init(clockID: Int32(bitPattern: id), wallClock: wall, clockTime: clock)
    }
}
