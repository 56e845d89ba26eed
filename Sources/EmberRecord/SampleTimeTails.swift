import CBPF
import EmberBPF
import EmberKernel

/// Stack tails taken at sample time by a BPF program on the sampling events (`stacktail.bpf.c`): the kernel runs
/// it on each sample just before it copies the user stack, so the tail is the same instant as the copy, where a
/// read at drain time may find the callers changed. Each record names its thread and the user IP and SP the
/// sample carries; `take` finds a sample's record by them, in order, so that a sample the kernel lost costs only
/// its own record.
final class SampleTimeTails {
    struct Tail {
        var ip: UInt64
        var sp: UInt64
        var address: UInt64
        var bytes: [UInt8]
        /// The drain it came in with: records left unmatched two drains on are given up.
        var drain: Int
    }

    private let object: BPFObject
    private var ring: BPFRingBuffer!
    private var waiting: [Int32: [Tail]] = [:]
    private var drain = 0
    /// Records that found no sample (their sample lost, or its copy not full), and records the ring had no room for.
    private(set) var unmatched = 0
    private let droppedMap: BPFMap

    /// Loads the program and attaches it to every event of `groups` that copies user stacks of `copyBytes`.
    init(_ groups: [EventGroup], copyBytes: UInt32) throws {
        object = try BPFObject(.stacktail, entries: ["scratch": UInt32(BPFObject.possibleCPUs)])
        try object.map("config").update(UInt32(0), ember_tail_config(copy_bytes: UInt64(copyBytes)))
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
        ring = try BPFRingBuffer(try object.map("tails")) { [unowned self] record in self.add(record) }
    }

    private func add(_ record: UnsafeRawBufferPointer) {
        let headerSize = MemoryLayout<ember_tail_header>.size
        guard record.count >= headerSize else { return }
        let header = record.loadUnaligned(as: ember_tail_header.self)
        let size = min(Int(header.size), record.count - headerSize) & ~7
        guard size > 0 else { return }
        waiting[Int32(bitPattern: header.tid), default: []].append(Tail(
            ip: header.ip, sp: header.sp, address: header.address,
            bytes: [UInt8](UnsafeRawBufferPointer(rebasing: record[headerSize..<(headerSize + size)])), drain: drain))
    }

    /// The tail taken with thread `tid`'s sample at `ip` and `sp`; the records of that thread before it are
    /// given up (their samples were lost).
    func take(tid: Int32, ip: UInt64, sp: UInt64) -> Tail? {
        if let tail = find(tid, ip, sp) { return tail }
        // Its record may have come in after this drain's first look at the ring.
        ring.consume()
        return find(tid, ip, sp)
    }

    private func find(_ tid: Int32, _ ip: UInt64, _ sp: UInt64) -> Tail? {
        guard var queue = waiting[tid], let i = queue.firstIndex(where: { $0.ip == ip && $0.sp == sp }) else { return nil }
        let tail = queue[i]
        unmatched += i
        queue.removeFirst(i + 1)
        waiting[tid] = queue.isEmpty ? nil : queue
        return tail
    }

    /// Before a drain: takes in the records submitted so far, and gives up those two drains old.
    func beginDrain() {
        drain += 1
        ring.consume()
        for (tid, queue) in waiting {
            let kept = queue.filter { $0.drain >= drain - 2 }
            unmatched += queue.count - kept.count
            waiting[tid] = kept.isEmpty ? nil : kept
        }
    }

    /// Records the ring buffer had no room for (the reader fell behind).
    var dropped: UInt64 {
        (try? droppedMap.entries(UInt32.self, UInt64.self).first?.value) ?? 0
    }
}
