import CBPF
import EmberBPF
import EmberKernel

/// What a sample cannot carry, taken with it by a BPF program on the sampling events (`capture.bpf.c`): the kernel
/// runs it on each sample just before it copies the user stack, while the thread is stopped, so that what it takes
/// is of the same instant as the sample (a read at drain time may find the callers changed, and async contexts
/// are reused). Each record names its thread and the user IP and SP the sample carries; `take` finds a sample's
/// record by them, so that a sample the kernel lost costs only its own record (given up two drains on). A flight
/// recorder, whose snapshots copy the newest samples of its overwrite rings (and may copy a sample again), keeps
/// the newest records up to a budget of bytes instead, and leaves a record where it was found.
final class BPFSampleCapture {
    struct Capture {
        var ip: UInt64
        var sp: UInt64
        /// The stack beyond the sample's copy, from `address` (empty when it did not go on).
        var address: UInt64
        var tail: [UInt8]
        /// Swift async context chains, as `ember_capture_header` describes them (empty when none).
        var chains: [UInt64]
        /// The drain it came in with: records left unmatched two drains on are given up.
        var drain: Int

        /// What it holds, for a flight recorder's budget.
        var bytes: Int { 64 + tail.count + chains.count * 8 }
    }

    private let object: BPFObject
    private var ring: BPFRingBuffer!
    private var waiting: [Int32: [Capture]] = [:]
    private var drain = 0
    /// Records that found no sample (their sample lost, or not one that wants them).
    private(set) var unmatched = 0
    private let droppedMap: BPFMap
    /// A flight recorder's: the most bytes of records kept, and those kept now.
    private let keepBytes: Int?
    private var keptBytes = 0

    /// Loads the program and attaches it to every event of `groups` that copies user stacks: tails beyond copies
    /// of `copyBytes` (0: none), and async chains. `keepBytes`: a flight recorder's budget (else records are
    /// matched once and given up two drains on).
    init(_ groups: [EventGroup], copyBytes: UInt32, chains: Bool, keepBytes: Int? = nil) throws {
        self.keepBytes = keepBytes
        // The ring buffer is mapped into the recorder whole, twice (the kernel maps its data pages back to back), and
        // counts in its RSS: 8 MiB for tails (up to 56 KiB a sample), for chains alone 512 KiB a CPU from 1 to 16 MiB
        // (~100-1,000 bytes a sample: 0.4 MB between two drains at 9,999 Hz on 2 CPUs); a power of two.
        let cpus = BPFObject.possibleCPUs
        let chainBytes = min(16 << 20, max(1 << 20, 1 << (Int.bitWidth - (cpus * (512 << 10) - 1).leadingZeroBitCount)))
        object = try BPFObject(.capture, entries: ["scratch": UInt32(cpus), "walks": UInt32(cpus),
                                                   "records": UInt32(copyBytes > 0 ? max(8 << 20, chainBytes) : chainBytes)])
        try object.map("config").update(UInt32(0), ember_capture_config(copy_bytes: UInt64(copyBytes), async_chains: chains ? 1 : 0))
        droppedMap = try object.map("dropped")
        let program = try object.programFD("capture")
        for group in groups where group.attr.sampleType.contains(.stackUser) {
            for event in group.events {
                do {
                    try event.setBPF(program)
                } catch {
                    throw BPFError.attach(program: "capture", (error as? Errno) ?? .invalidArgument)
                }
            }
        }
        ring = try BPFRingBuffer(try object.map("records")) { [unowned self] record in self.add(record) }
    }

    private func add(_ record: UnsafeRawBufferPointer) {
        let headerSize = MemoryLayout<ember_capture_header>.size
        guard record.count >= headerSize else { return }
        let header = record.loadUnaligned(as: ember_capture_header.self)
        let words = min(Int(header.chain_words), (record.count - headerSize) / 8)
        let tailStart = headerSize + words * 8
        let size = min(Int(header.tail_size), record.count - tailStart) & ~7
        let capture = Capture(
            ip: header.ip, sp: header.sp, address: header.address,
            tail: [UInt8](UnsafeRawBufferPointer(rebasing: record[tailStart..<(tailStart + size)])),
            chains: (0..<words).map { record.loadUnaligned(fromByteOffset: headerSize + $0 * 8, as: UInt64.self) },
            drain: drain)
        waiting[Int32(bitPattern: header.tid), default: []].append(capture)
        keptBytes += capture.bytes
    }

    /// What was taken with thread `tid`'s sample at `ip` and `sp`. The rings are drained one CPU after another, so
    /// a thread that moved between CPUs has its samples come out of time order: any waiting record of it may be
    /// the one (records with the same IP and SP are of the same spin, with the same chains).
    func take(tid: Int32, ip: UInt64, sp: UInt64) -> Capture? {
        if let capture = find(tid, ip, sp) { return capture }
        // Its record may have come in after this drain's first look at the ring.
        ring.consume()
        return find(tid, ip, sp)
    }

    private func find(_ tid: Int32, _ ip: UInt64, _ sp: UInt64) -> Capture? {
        guard var queue = waiting[tid] else { return nil }
        guard keepBytes == nil else { return queue.last { $0.ip == ip && $0.sp == sp } }
        guard let i = queue.firstIndex(where: { $0.ip == ip && $0.sp == sp }) else { return nil }
        let capture = queue.remove(at: i)
        keptBytes -= capture.bytes
        waiting[tid] = queue.isEmpty ? nil : queue
        return capture
    }

    /// Before a drain (a flight recorder's snapshot, or its periodic wake-up): takes in the records submitted so
    /// far, and gives up those two drains old (a flight recorder: the oldest beyond its budget).
    func beginDrain() {
        drain += 1
        ring.consume()
        if let keepBytes {
            guard keptBytes > keepBytes else { return }
            // The oldest drains first, until the rest fit in three quarters of the budget (so that this runs seldom).
            var bytesByDrain: [Int: Int] = [:]
            for queue in waiting.values { for c in queue { bytesByDrain[c.drain, default: 0] += c.bytes } }
            var excess = keptBytes - keepBytes * 3 / 4, oldestKept = 0
            for (d, bytes) in bytesByDrain.sorted(by: { $0.key < $1.key }) where excess > 0 {
                excess -= bytes
                oldestKept = d + 1
            }
            expire { $0.drain >= oldestKept }
        } else {
            let drain = drain
            expire { $0.drain >= drain - 2 }
        }
    }

    private func expire(keeping keep: (Capture) -> Bool) {
        for (tid, queue) in waiting {
            let kept = queue.filter(keep)
            guard kept.count < queue.count else { continue }
            if keepBytes == nil { unmatched += queue.count - kept.count }
            keptBytes -= queue.reduce(0) { $0 + $1.bytes } - kept.reduce(0) { $0 + $1.bytes }
            waiting[tid] = kept.isEmpty ? nil : kept
        }
    }

    /// Records the ring buffer had no room for (the reader fell behind).
    var dropped: UInt64 {
        (try? droppedMap.entries(UInt32.self, UInt64.self).first?.value) ?? 0
    }
}
