import CEmberShim
#if canImport(Glibc)
import Glibc
#endif

/// An open perf event: owns its file descriptor and closes it exactly once.
public final class PerfEvent {
    public let fd: Int32
    public let attr: EventAttr
    /// The CPU it counts on, or -1 for any.
    public let cpu: Int32
    /// The task it follows, or -1 for all.
    public let pid: Int32

    /// perf_event_open(2) with `PERF_FLAG_FD_CLOEXEC`. For probe PMUs, `config1` points to `probeString` (a path or
    /// a function name), which the kernel copies during the call, so it only has to live that long.
    public init(attr: EventAttr, pid: Int32, cpu: Int32, probeString: String? = nil) throws {
        var attr = attr
        let fd: Int32 = (probeString ?? "").withCString { string in
            if probeString != nil { attr.config1 = UInt64(UInt(bitPattern: string)) }
            var bytes = attr.encoded()
            return bytes.withUnsafeMutableBytes { ember_perf_event_open($0.baseAddress, pid, cpu, -1, PerfEvent.flagCloseOnExec) }
        }
        if probeString != nil { attr.config1 = 0 }
        guard fd >= 0 else { throw PerfEventOpenError(errno: Errno.current, attr: attr, pid: pid, cpu: cpu) }
        self.fd = fd
        self.attr = attr
        self.cpu = cpu
        self.pid = pid
    }

    deinit { close(fd) }

    /// `PERF_FLAG_FD_CLOEXEC`
    private static let flagCloseOnExec: UInt = 8

    /// The kernel's id for this event (`PERF_EVENT_IOC_ID`), which samples carry with `PERF_SAMPLE_IDENTIFIER`.
    public func id() throws -> UInt64 {
        var value: UInt64 = 0
        _ = try valueOrErrno(retryOnInterrupt: true) { ember_ioctl_ptr(fd, Ioctl.id, &value) }
        return value
    }

    public func enable() throws { _ = try valueOrErrno(retryOnInterrupt: true) { ember_ioctl_int(fd, Ioctl.enable, 0) } }
    public func disable() throws { _ = try valueOrErrno(retryOnInterrupt: true) { ember_ioctl_int(fd, Ioctl.disable, 0) } }
    /// Stops (or restarts) the kernel writing into this event's ring (PERF_EVENT_IOC_PAUSE_OUTPUT).
    public func pauseOutput(_ paused: Bool) throws {
        _ = try valueOrErrno(retryOnInterrupt: true) { ember_ioctl_int(fd, Ioctl.pauseOutput, paused ? 1 : 0) }
    }

    /// What counting events ask a read(2) for: the value, and the times the event was enabled and running (they
    /// differ when the kernel multiplexed the counter).
    public static let countReadFormat: ReadFormat = [.totalTimeEnabled, .totalTimeRunning]

    /// The counter's value with the times it was enabled and running (0 where the event's read format does not
    /// ask for them); the read's size follows from that format. Not for group reads.
    public func readCount() throws -> (value: UInt64, enabled: UInt64, running: UInt64) {
        precondition(!attr.readFormat.contains(.group), "a group read has a layout of its own")
        let fields: [ReadFormat] = [.totalTimeEnabled, .totalTimeRunning, .id, .lost]
        let size = 8 * (1 + fields.filter(attr.readFormat.contains).count)
        var values = [UInt64](repeating: 0, count: size / 8)
        let n = try values.withUnsafeMutableBytes { b in try valueOrErrno(retryOnInterrupt: true) { read(fd, b.baseAddress, size) } }
        guard n == size else { throw Errno.io }
        // value, then time_enabled and time_running when asked for, in that order.
        var next = 1
        func field(_ f: ReadFormat) -> UInt64 {
            guard attr.readFormat.contains(f) else { return 0 }
            next += 1
            return values[next - 1]
        }
        let enabled = field(.totalTimeEnabled)
        return (values[0], enabled, field(.totalTimeRunning))
    }

    /// Sets a tracepoint filter (`PERF_EVENT_IOC_SET_FILTER`); once per event (a second one fails with EEXIST).
    public func setFilter(_ filter: String) throws {
        _ = try filter.withCString { p in try valueOrErrno(retryOnInterrupt: true) { ember_ioctl_ptr(fd, Ioctl.setFilter, UnsafeMutableRawPointer(mutating: p)) } }
    }

    /// Runs BPF program `programFD` (of type perf_event) on each of this event's samples before it is written
    /// (`PERF_EVENT_IOC_SET_BPF`); events the target's children inherit run it too.
    public func setBPF(_ programFD: Int32) throws {
        _ = try valueOrErrno(retryOnInterrupt: true) { ember_ioctl_int(fd, Ioctl.setBPF, UInt(programFD)) }
    }

    /// Sends this event's records into `target`'s ring buffer (`PERF_EVENT_IOC_SET_OUTPUT`); same CPU only.
    public func setOutput(to target: PerfEvent) throws {
        _ = try valueOrErrno(retryOnInterrupt: true) { ember_ioctl_int(fd, Ioctl.setOutput, UInt(target.fd)) }
    }

}

/// ioctl request numbers of `<linux/perf_event.h>`; the `_IO*` macros do not import into Swift.
enum Ioctl {
    /// `PERF_EVENT_IOC_ENABLE`
    static let enable: UInt = 0x2400
    /// `PERF_EVENT_IOC_DISABLE`
    static let disable: UInt = 0x2401
    /// `PERF_EVENT_IOC_SET_OUTPUT`
    static let setOutput: UInt = 0x2405
    /// `PERF_EVENT_IOC_ID`
    static let id: UInt = 0x8008_2407
    /// `PERF_EVENT_IOC_SET_FILTER`
    static let setFilter: UInt = 0x4008_2406
    /// PERF_EVENT_IOC_SET_BPF, _IOW('$', 8, __u32).
    static let setBPF: UInt = 0x4004_2408
    /// PERF_EVENT_IOC_PAUSE_OUTPUT, _IOW('$', 9, __u32).
    static let pauseOutput: UInt = 0x4004_2409
}

/// A failed perf_event_open(2), with what was asked.
public struct PerfEventOpenError: Error, CustomStringConvertible {
    public var errno: Errno
    public var attr: EventAttr
    public var pid: Int32
    public var cpu: Int32

    public var description: String {
        "perf_event_open(type \(attr.type.rawValue), config \(attr.config), pid \(pid), cpu \(cpu)) failed: \(errno)"
    }
}
