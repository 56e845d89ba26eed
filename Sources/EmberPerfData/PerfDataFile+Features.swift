import EmberKernel

/// A build-id the file associates with a binary (HEADER_BUILD_ID).
public struct BuildIDEntry: Equatable, Sendable {
    public var pid: Int32
    public var buildID: [UInt8]
    public var filename: String
    public var cpuMode: CPUMode

    public init(pid: Int32, buildID: [UInt8], filename: String, cpuMode: CPUMode) {
        self.pid = pid
        self.buildID = buildID
        self.filename = filename
        self.cpuMode = cpuMode
    }

    public var hex: String { hexString(buildID) }
}

extension PerfDataFile {
    /// A string feature (hostname, OS release, perf version, arch, CPU description).
    public func string(_ feature: Feature) -> String? {
        guard let b = section(feature), b.u32(0) != nil else { return nil }
        return b.cString(4)
    }

    /// The command line that made the recording.
    public var commandLine: [String]? {
        guard let b = section(.cmdline), let nr = b.u32(0), nr < 65536 else { return nil }
        var out: [String] = []
        var o = 4
        for _ in 0..<nr {
            guard let length = b.u32(o) else { break }
            out.append(b.cString(o + 4))
            o += 4 + Int(length)
        }
        return out
    }

    /// The machine's memory, in kB.
    public var totalMemoryKB: UInt64? { section(.totalMem)?.u64(0) }

    /// `{available, online}` CPUs.
    public var cpuCount: (available: UInt32, online: UInt32)? {
        guard let b = section(.nrCPUs), let a = b.u32(0), let o = b.u32(4) else { return nil }
        return (a, o)
    }

    /// The build-ids in the file's HEADER_BUILD_ID section.
    public var buildIDs: [BuildIDEntry] {
        guard let b = section(.buildID) else { return [] }
        var out: [BuildIDEntry] = []
        var o = 0
        while let misc = b.u16(o + 4), let size = b.u16(o + 6), size >= 36, o + Int(size) <= b.count {
            let pid = Int32(bitPattern: b.u32(o + 8) ?? 0)
            let idSize = misc & RecordMisc.buildIDSize != 0 ? min(Int(b[o + 32]), 20) : 20
            let id = Array(b[(o + 12)..<(o + 12 + idSize)])
            let name = UnsafeRawBufferPointer(rebasing: b[o..<(o + Int(size))]).cString(36)
            out.append(BuildIDEntry(pid: pid, buildID: id, filename: name, cpuMode: CPUMode(misc: misc)))
            o += Int(size)
        }
        return out
    }
}

extension PerfDataFile {
    /// The file's HEADER_CLOCK_DATA, when it has one for the clock its events are stamped with.
    public var clockData: ClockData? {
        guard let b = section(.clockData), let clock = ClockData(section: b),
              events.allSatisfy({ $0.attr.flags.contains(.useClockID) && $0.attr.clockID == clock.clockID }) else { return nil }
        return clock
    }

    /// The time of day (ns since the epoch) of `time`, a sample time of this recording, whose last sample is at
    /// `end`. Exact through HEADER_CLOCK_DATA; without it the samples carry the kernel's perf clock (Ember's and
    /// perf's default), which has no wall-clock reading, so the file's modification time stands for `end`: late by
    /// the moments between the last sample and the file's completion, and wrong for a copy that did not keep it.
    public func wallClockTime(of time: UInt64, end: UInt64) -> UInt64 {
        if let clock = clockData { return clock.wallClock &+ time &- clock.clockTime }
        return modificationTime &- (end &- time)
    }
}
