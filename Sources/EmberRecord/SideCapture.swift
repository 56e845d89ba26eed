import EmberKernel
import EmberPerfData

/// What DWARF samples cannot carry, kept beside them in the file: Swift async context chains, and for deep stacks
/// (`RecordOptions.readsStackTails`), since a sample whose stack copy is full has callers beyond it, the rest of
/// its thread's stack (`PerfDataWriter.appendStackTail`), starting a little below its copy's end so that readers
/// can check that the two agree. Taken at sample time by a BPF program on the sampling events
/// (`BPFSampleCapture`) when they are sampled events (software or hardware: a tracepoint's
/// or probe's takes other BPF programs) and it loads (root, a kernel with BTF), one per sample; else read after
/// each drain of the rings, once per thread, from its samples' lowest copy end up to the end of its mapping or
/// `RecordOptions.stackTailBytes` (`process_vm_readv`): callers far from the sampled code rarely change while it
/// runs (and not at all while it is blocked, as at a sched_switch), but a thread whose deep frames churn has some
/// tails refused by the readers; async chains then go missing. Successive tails of a thread keep their shared
/// upper part once (`keep`).
final class SideCapture {
    /// `PERF_REG_X86_IP` and `PERF_REG_X86_SP`.
    private static let ipBit = 8, spBit = 7

    private struct Want {
        var lowestEnd: UInt64
        var first: UInt64
        var last: UInt64
    }

    /// Per sample id, the layout of its event's records and its stack copy's size.
    private let layouts: [UInt64: (layout: SampleLayout, copy: Int)]
    private let atSampleTime: BPFSampleCapture?
    private let readsTails: Bool
    /// Why tails are read at drain time, when BPF was tried and could not be used.
    private let fallbackReason: String?
    private var wants: [Int32: Want] = [:]
    private var sample = Sample()
    /// Where a tail read at drain time lands.
    private let buffer: UnsafeMutableRawBufferPointer?
    /// Tails kept, their bytes and the bytes written (less what they share); reads at drain time that found the
    /// thread gone; samples with async chains.
    private(set) var chained = 0
    private(set) var kept = 0
    private(set) var bytes: UInt64 = 0
    private(set) var written: UInt64 = 0
    private(set) var missed = 0

    /// nil when no event copies user stacks. `tails`, `chains`: keep stack tails, async chains. `keepBytes`: a
    /// flight recorder's budget for what was taken at sample time (`BPFSampleCapture`).
    init?(_ events: RecordingSession.SampleEvents, tails: Bool, chains: Bool, keepBytes: Int? = nil) {
        var layouts: [UInt64: (SampleLayout, Int)] = [:]
        var copy: UInt32 = 0
        for e in events.described where e.attr.sampleType.isSuperset(of: [.regsUser, .stackUser, .identifier]) && e.attr.sampleStackUser > 0 {
            for id in e.ids { layouts[id] = (e.layout, Int(e.attr.sampleStackUser)) }
            copy = max(copy, e.attr.sampleStackUser)
        }
        guard !layouts.isEmpty else { return nil }
        self.layouts = layouts
        readsTails = tails
        let sampled = events.groups.allSatisfy { g in
            !g.attr.sampleType.contains(.stackUser) || [.software, .hardware, .hardwareCache, .raw].contains(g.attr.type)
        }
        var capture: BPFSampleCapture?, reason: String?
        if sampled {
            do { capture = try BPFSampleCapture(events.groups, copyBytes: tails ? copy : 0, chains: chains, keepBytes: keepBytes) } catch { reason = "\(error)" }
        }
        atSampleTime = capture
        fallbackReason = reason
        buffer = capture == nil && tails ? UnsafeMutableRawBufferPointer.allocate(byteCount: RecordOptions.stackTailBytes, alignment: 8) : nil
    }

    deinit { buffer?.deallocate() }

    /// Before the rings are drained.
    func beginDrain() {
        atSampleTime?.beginDrain()
    }

    /// A record just written at file offset `offset`: a sample gets what was taken with it (at sample time), or a
    /// sample whose copy is full wants its thread's tail (at drain time).
    @inline(__always)
    func note(_ record: UnsafeRawBufferPointer, offset: UInt64, writer: PerfDataWriter) {
        // Samples start with their id (PERF_SAMPLE_IDENTIFIER).
        guard record.count >= 16, record.loadUnaligned(as: UInt32.self) == RecordType.sample.rawValue,
              let (layout, copy) = layouts[record.loadUnaligned(fromByteOffset: 8, as: UInt64.self)],
              sample.load(record: record, layout: layout), let sp = sample.userRegister(perfBit: SideCapture.spBit) else { return }
        let full = sample.userStack.count == copy
        if let atSampleTime {
            // A sample without a record needed none: its stack's mapping ends within the copy, and no chain.
            guard let ip = sample.userRegister(perfBit: SideCapture.ipBit),
                  let capture = atSampleTime.take(tid: sample.tid, ip: ip, sp: sp) else { return }
            if !capture.chains.isEmpty {
                chained += 1
                capture.chains.withUnsafeBytes { writer.appendAsyncChains(sample: offset, words: $0) }
            }
            if full, readsTails, !capture.tail.isEmpty {
                kept += 1
                bytes += UInt64(capture.tail.count)
                capture.tail.withUnsafeBytes { keep($0, at: capture.address, tid: sample.tid, samples: offset...offset, writer: writer) }
            }
            return
        }
        guard full, readsTails else { return }
        let end = sp &+ UInt64(copy)
        if var want = wants[sample.tid] {
            want.lowestEnd = min(want.lowestEnd, end)
            want.last = offset
            wants[sample.tid] = want
        } else {
            wants[sample.tid] = Want(lowestEnd: end, first: offset, last: offset)
        }
    }

    /// After the rings are drained: reads the tail of each thread noted since `beginDrain` and hands it to the
    /// writer (at drain time; at sample time the tails went with their samples).
    func endDrain(into writer: PerfDataWriter) {
        defer { wants.removeAll(keepingCapacity: true) }
        guard let buffer else { return }
        for (tid, want) in wants {
            let address = (want.lowestEnd &- SideCapture.overlap) & ~7
            guard let n = RemoteMemory.read(pid: tid, address: address, into: buffer), n >= 8 else {
                missed += 1
                continue
            }
            kept += 1
            bytes += UInt64(n & ~7)
            keep(UnsafeRawBufferPointer(rebasing: buffer[0..<(n & ~7)]), at: address, tid: tid, samples: want.first...want.last, writer: writer)
        }
    }

    /// Per thread, its last whole tail kept, which later tails of it share their upper part with; for one file.
    private struct Whole {
        var sample: UInt64
        var address: UInt64
        var bytes: [UInt8]
    }
    private var wholes: [Int32: Whole] = [:]
    private var wholesFile: ObjectIdentifier?

    /// Hands a tail to the writer: the part below what it shares with the thread's last whole tail when they share
    /// at least half of it (the callers' part, unchanged), else whole.
    private func keep(_ bytes: UnsafeRawBufferPointer, at address: UInt64, tid: Int32, samples: ClosedRange<UInt64>, writer: PerfDataWriter) {
        if wholesFile != ObjectIdentifier(writer) {
            wholes.removeAll()
            wholesFile = ObjectIdentifier(writer)
        }
        let end = address &+ UInt64(bytes.count)
        if let whole = wholes[tid], address >= whole.address, end <= whole.address &+ UInt64(whole.bytes.count) {
            // From the top down, as far as both hold the same words.
            var shared = end
            whole.bytes.withUnsafeBytes { old in
                while shared &- 8 >= address,
                      bytes.loadUnaligned(fromByteOffset: Int(shared - 8 - address), as: UInt64.self)
                      == old.loadUnaligned(fromByteOffset: Int(shared - 8 - whole.address), as: UInt64.self) {
                    shared -= 8
                }
            }
            if (end - shared) * 2 >= UInt64(bytes.count) {
                writer.appendStackTail(tid: tid, samples: samples, address: address,
                                       bytes: UnsafeRawBufferPointer(rebasing: bytes[0..<Int(shared - address)]), restOf: whole.sample)
                written += shared - address
                return
            }
        }
        writer.appendStackTail(tid: tid, samples: samples, address: address, bytes: bytes)
        written += UInt64(bytes.count)
        wholes[tid] = Whole(sample: samples.lowerBound, address: address, bytes: [UInt8](bytes))
    }

    /// Forgets what was noted (the records it was for were not written).
    func discard() { wants.removeAll(keepingCapacity: true) }

    /// How far below a copy's end a tail read at drain time starts (as `EMBER_TAIL_OVERLAP` at sample time).
    static let overlap: UInt64 = 512

    /// What the recording says of its tails and chains; that async stacks are missing only when the recording saw
    /// Swift concurrency (libswift_Concurrency mapped), so that C programs recorded without BPF hear nothing of it.
    func summary(_ session: RecordingSession) -> String? {
        let swiftConcurrencySeen = session.executables.contains { $0.hasSuffix("/libswift_Concurrency.so") }
        var parts: [String] = []
        if kept + missed > 0 {
            var tails = (atSampleTime != nil ? "stacks deeper than their copy: \(kept) tails taken at sample time"
                                             : "stacks deeper than their copy: \(kept) reads of the rest of a thread's stack")
                + " (\(bytes >> 10) KiB, \(written >> 10) KiB kept)"
            if missed > 0 { tails += ", \(missed) found the thread gone" }
            parts.append(tails)
        }
        // Only where Swift concurrency ran: elsewhere a chain is a pointer pattern that the readers will refuse.
        if chained > 0, swiftConcurrencySeen { parts.append("\(chained) samples carry Swift async context chains") }
        let dropped = atSampleTime.map { $0.dropped + UInt64($0.unmatched) } ?? 0
        if dropped > 0 { parts.append("\(dropped) captures found no sample or had no room") }
        if let fallbackReason, readsTails || swiftConcurrencySeen {
            let what = [readsTails ? "stack tails are read at drain time" : nil, swiftConcurrencySeen ? "Swift async stacks are missing" : nil]
            parts.append(what.compactMap { $0 }.joined(separator: " and ") + ", since BPF could not be used (\(fallbackReason))")
        }
        guard !parts.isEmpty else { return nil }
        return parts.joined(separator: "; ") + (readsTails && kept + missed > 0 ? "; --no-stack-tail reads no tails" : "")
    }
}
