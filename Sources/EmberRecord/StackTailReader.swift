import EmberKernel
import EmberPerfData

/// Completes deep DWARF stacks (`RecordOptions.readsStackTails`): a sample whose stack copy is full has callers
/// beyond it, and those callers, far from the sampled code, rarely change while it runs. After each drain of the
/// rings, each thread that had such samples has the rest of its stack read once, from a little below the lowest
/// end of their copies (so that readers can check that the two agree) up to the end of its mapping or
/// `RecordOptions.stackTailBytes`, and kept beside those samples (`PerfDataWriter.appendStackTail`).
final class StackTailReader {
    /// How far below a copy's end a tail starts: the readers compare these bytes with the copy's.
    static let overlap: UInt64 = 512
    /// `PERF_REG_X86_SP`.
    private static let spBit = 7

    private struct Want {
        var lowestEnd: UInt64
        var first: UInt64
        var last: UInt64
    }

    /// Per sample id, the layout of its event's records and its stack copy's size.
    private let layouts: [UInt64: (layout: SampleLayout, copy: Int)]
    private var wants: [Int32: Want] = [:]
    private var sample = Sample()
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: RecordOptions.stackTailBytes, alignment: 8)
    /// Tails read and their bytes; reads that found nothing (the thread had exited).
    private(set) var reads = 0
    private(set) var bytes: UInt64 = 0
    private(set) var failed = 0

    /// nil when no event copies user stacks.
    init?(_ events: [EventDescription]) {
        var layouts: [UInt64: (SampleLayout, Int)] = [:]
        for e in events where e.attr.sampleType.isSuperset(of: [.regsUser, .stackUser, .identifier]) && e.attr.sampleStackUser > 0 {
            for id in e.ids { layouts[id] = (e.layout, Int(e.attr.sampleStackUser)) }
        }
        guard !layouts.isEmpty else { return nil }
        self.layouts = layouts
    }

    deinit { buffer.deallocate() }

    /// A record about to be written at file offset `offset`: a sample whose copy is full wants its thread's tail.
    @inline(__always)
    func note(_ record: UnsafeRawBufferPointer, offset: UInt64) {
        // Samples start with their id (PERF_SAMPLE_IDENTIFIER).
        guard record.count >= 16, record.loadUnaligned(as: UInt32.self) == RecordType.sample.rawValue, let (layout, copy) = layouts[record.loadUnaligned(fromByteOffset: 8, as: UInt64.self)],
              sample.load(record: record, layout: layout), sample.userStack.count == copy,
              let sp = sample.userRegister(perfBit: StackTailReader.spBit) else { return }
        let end = sp &+ UInt64(copy)
        if var want = wants[sample.tid] {
            want.lowestEnd = min(want.lowestEnd, end)
            want.last = offset
            wants[sample.tid] = want
        } else {
            wants[sample.tid] = Want(lowestEnd: end, first: offset, last: offset)
        }
    }

    /// Reads the tail of each thread noted since the last call and hands it to the writer.
    func readAll(into writer: PerfDataWriter) {
        defer { wants.removeAll(keepingCapacity: true) }
        for (tid, want) in wants {
            let address = (want.lowestEnd &- StackTailReader.overlap) & ~7
            guard let n = RemoteMemory.read(pid: tid, address: address, into: buffer), n >= 8 else {
                failed += 1
                continue
            }
            reads += 1
            bytes += UInt64(n & ~7)
            writer.appendStackTail(tid: tid, samples: want.first...want.last, address: address,
                                   bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<(n & ~7)]))
        }
    }

    /// Forgets what was noted (the records it was for were not written).
    func discard() { wants.removeAll(keepingCapacity: true) }
}
