import EmberPerfData
import EmberSymbols

/// An archive's DWARF unwinds: for each `--call-graph dwarf` sample, the user frames Ember's unwinder found, so
/// that a replay elsewhere needs neither the binaries' CFI nor their bytes.
public final class UnwindArchive {
    struct Key: Hashable {
        var tid: Int32
        var time: UInt64
        var ip: UInt64
    }

    struct Walk {
        var frames: [UInt64]
        var exact: [Bool]
        var end: UnwindEnd?
        /// The first frame found in the sample's stack tail, if any.
        var tailFrom: Int?
    }

    var walks: [Key: Walk] = [:]

    public init() {}

    public var isEmpty: Bool { walks.isEmpty }

    public func encoded() -> [UInt8] {
        var w = ArchiveWriter()
        w.count(walks.count)
        for (key, walk) in walks.sorted(by: { ($0.key.time, $0.key.tid, $0.key.ip) < ($1.key.time, $1.key.tid, $1.key.ip) }) {
            w.u64(UInt64(UInt32(bitPattern: key.tid)))
            w.u64(key.time)
            w.u64(key.ip)
            w.byte(walk.end == nil ? 0 : walk.end == .complete ? 1 : 2)
            w.count(walk.frames.count)
            // Per frame: bit 0 exact, bit 1 from the stack tail.
            for (i, (frame, exact)) in zip(walk.frames, walk.exact).enumerated() {
                w.u64(frame)
                w.byte((exact ? 1 : 0) | (i >= (walk.tailFrom ?? .max) ? 2 : 0))
            }
        }
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws {
        var r = ArchiveReader(bytes)
        for _ in 0..<(try r.count()) {
            let key = Key(tid: Int32(truncatingIfNeeded: try r.u64()), time: try r.u64(), ip: try r.u64())
            let end: UnwindEnd?
            switch try r.byte() {
            case 0: end = nil
            case 1: end = .complete
            case 2: end = .truncated
            default: throw ArchiveReader.Corrupt()
            }
            var walk = Walk(frames: [], exact: [], end: end)
            for i in 0..<(try r.count()) {
                walk.frames.append(try r.u64())
                let flags = try r.byte()
                walk.exact.append(flags & 1 != 0)
                if flags & 2 != 0, walk.tailFrom == nil { walk.tailFrom = i }
            }
            walks[key] = walk
        }
    }
}

/// Unwinds with another unwinder and keeps each walk in an archive.
public final class CapturingUnwinder: StackUnwinder {
    private let inner: StackUnwinder
    private let archive: UnwindArchive
    public var tailUse: StackTailUse { inner.tailUse }

    public init(_ inner: StackUnwinder, into archive: UnwindArchive) {
        self.inner = inner
        self.archive = archive
    }

    public func unwind(_ sample: Sample, into frames: inout [FrameAddress]) -> UnwindEnd? {
        let start = frames.count
        let end = inner.unwind(sample, into: &frames)
        var tailFrom: Int?
        if case .used(let from) = inner.tailUse { tailFrom = from }
        archive.walks[UnwindArchive.Key(tid: sample.tid, time: sample.time, ip: sample.ip)] =
            UnwindArchive.Walk(frames: frames[start...].map(\.address), exact: frames[start...].map { !$0.isReturnAddress }, end: end, tailFrom: tailFrom)
        return end
    }
}

/// Answers each walk from an archive; a sample it does not hold has no user stack.
public final class ArchivedUnwinder: StackUnwinder {
    private let archive: UnwindArchive
    public private(set) var tailUse = StackTailUse.none

    public init(_ archive: UnwindArchive) { self.archive = archive }

    public func unwind(_ sample: Sample, into frames: inout [FrameAddress]) -> UnwindEnd? {
        tailUse = .none
        guard let walk = archive.walks[UnwindArchive.Key(tid: sample.tid, time: sample.time, ip: sample.ip)] else { return nil }
        if let from = walk.tailFrom { tailUse = .used(from: from) }
        for (address, exact) in zip(walk.frames, walk.exact) { frames.append(FrameAddress(address, exact: exact)) }
        return walk.end
    }
}
