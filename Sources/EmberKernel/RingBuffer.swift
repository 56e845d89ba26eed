import CEmberShim
#if canImport(Glibc)
import Glibc
#endif

/// One perf mmap ring buffer: a metadata page followed by 2^n data pages the kernel writes records into.
///
/// Reader protocol (tools/include/linux/ring_buffer.h): acquire-load `data_head`, read the records in
/// `[data_tail, data_head)`, then release-store the new `data_tail` after a full barrier, so the kernel never reuses
/// bytes we are still reading. Head and tail are free-running byte counters. A record whose body wraps the end of
/// the buffer is copied into a fixed scratch buffer; nothing else is copied and nothing is allocated per record.
public final class RingBuffer {
    public let event: PerfEvent
    /// Data bytes, a power of two.
    public let dataSize: Int
    private let mapping: UnsafeMutableRawPointer
    private let mappingLength: Int
    private let data: UnsafeMutableRawPointer
    private let scratch: UnsafeMutableRawPointer
    public static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
    /// Largest record the kernel writes: `perf_event_header.size` is a u16.
    private static let maxRecord = 1 << 16

    /// The kernel overwrites the oldest records (an event opened with `write_backward`, mapped read-only); read it
    /// with `snapshot`, not `drain`.
    public let overwrites: Bool

    /// Maps `dataPages` (a power of two) data pages of `event`, writable so that the kernel honours `data_tail`;
    /// with `overwrite`, read-only, so that the kernel never stops writing (the event must write backward).
    public init(event: PerfEvent, dataPages: Int, overwrite: Bool = false) throws {
        precondition(dataPages > 0 && dataPages & (dataPages - 1) == 0, "data pages must be a power of two")
        let length = (1 + dataPages) * RingBuffer.pageSize
        let p = mmap(nil, length, overwrite ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, event.fd, 0)
        guard let p, p != MAP_FAILED else {
            throw RingBufferError(errno: Errno.current, bytes: length)
        }
        self.event = event
        self.overwrites = overwrite
        self.mapping = p
        self.mappingLength = length
        // The kernel reports where the data area starts; fall back to one page on kernels that leave it 0.
        let offset = Int(p.load(fromByteOffset: MmapPage.dataOffset, as: UInt64.self))
        self.data = p + (offset == 0 ? RingBuffer.pageSize : offset)
        self.dataSize = dataPages * RingBuffer.pageSize
        self.scratch = UnsafeMutableRawPointer.allocate(byteCount: RingBuffer.maxRecord, alignment: 8)
    }

    deinit {
        munmap(mapping, mappingLength)
        scratch.deallocate()
    }

    private var headPointer: UnsafeMutablePointer<UInt64> {
        (mapping + MmapPage.dataHead).assumingMemoryBound(to: UInt64.self)
    }

    private var tailPointer: UnsafeMutablePointer<UInt64> {
        (mapping + MmapPage.dataTail).assumingMemoryBound(to: UInt64.self)
    }

    /// Bytes skipped because a record header was corrupt (never seen from a sane kernel; counted, not fatal).
    public private(set) var droppedBytes: UInt64 = 0
    /// A drain found the ring full: the reader fell a whole ring behind, and the kernel lost what did not fit
    /// (libperf warns once about the same).
    public private(set) var fellBehind = false

    /// Hands every available record to `body`, then frees its space. The bytes are valid only during the call.
    /// Returns the number of records read.
    @discardableResult
    public func drain(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows -> Int {
        let head = ember_load_acquire_u64(headPointer)
        var tail = tailPointer.pointee
        let mask = UInt64(dataSize - 1)
        var count = 0
        if head &- tail >= UInt64(dataSize) { fellBehind = true }
        defer { ember_store_release_u64(tailPointer, tail) }
        while tail < head {
            let offset = Int(tail & mask)
            // Records are 8-byte aligned and at least 8 bytes long, so a header never straddles the end.
            let size = Int(data.load(fromByteOffset: offset + 6, as: UInt16.self))
            guard size >= 8, UInt64(size) <= head - tail else {
                // A corrupt header: drop what is left rather than loop or read past the head.
                droppedBytes += head - tail
                tail = head
                break
            }
            if offset + size <= dataSize {
                try body(UnsafeRawBufferPointer(start: data + offset, count: size))
            } else {
                let first = dataSize - offset
                scratch.copyMemory(from: data + offset, byteCount: first)
                (scratch + first).copyMemory(from: data, byteCount: size - first)
                try body(UnsafeRawBufferPointer(start: scratch, count: size))
            }
            tail += UInt64(size)
            count += 1
        }
        return count
    }
}

extension RingBuffer {
    /// Copies the history of an overwrite ring, oldest record first, into `out` (cleared first). Returns the
    /// record count, and whether the ring has wrapped (older records were overwritten). The kernel's writing is
    /// paused meanwhile (what it would have written is counted as lost).
    public func snapshot(into out: inout [UInt8]) -> (records: Int, wrapped: Bool) {
        out.removeAll(keepingCapacity: true)
        _ = try? event.pauseOutput(true)
        defer { _ = try? event.pauseOutput(false) }
        return RingBuffer.history(UnsafeRawBufferPointer(start: data, count: dataSize), head: ember_load_acquire_u64(headPointer), into: &out)
    }

    /// Appends the records of a backward-written ring to `out`, oldest first, each whole (a record that wraps the
    /// ring's end is joined); returns their count, and whether the ring has wrapped: its history ends at a record
    /// partly overwritten, or fills it, rather than at bytes never written.
    public static func history(_ ring: UnsafeRawBufferPointer, head: UInt64, into out: inout [UInt8]) -> (records: Int, wrapped: Bool) {
        let records = backwardRecords(ring, head: head)
        let length = records.reduce(0) { $0 + $1.size }
        let stop = Int((head &+ UInt64(length)) & UInt64(ring.count - 1))
        let wrapped = length == ring.count || ring.loadUnaligned(fromByteOffset: stop + 6, as: UInt16.self) != 0
        for (offset, size) in records.reversed() {
            if offset + size <= ring.count {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: ring[offset..<(offset + size)]))
            } else {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: ring[offset...]))
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: ring[..<(size - (ring.count - offset))]))
            }
        }
        return (records.count, wrapped)
    }

    /// The records of a backward-written ring, newest first, as (offset in the ring, size): from `head` (which
    /// counts down from 0) forward until a never-written header (size 0) or a record that would run past one whole
    /// ring from `head` (the oldest, partly overwritten). A record may wrap the ring's end. This is
    /// perf's `overwrite_rb_find_range`.
    public static func backwardRecords(_ ring: UnsafeRawBufferPointer, head: UInt64) -> [(offset: Int, size: Int)] {
        let size = UInt64(ring.count)
        precondition(size > 0 && size & (size - 1) == 0, "a ring is a power of two bytes")
        let mask = size - 1
        var records: [(Int, Int)] = []
        var position = head
        while true {
            let offset = Int(position & mask)
            let recordSize = UInt64(ring.loadUnaligned(fromByteOffset: offset + 6, as: UInt16.self))
            // A never-written (zeroed) header, or one too short to be a record: the history ends.
            if recordSize < 8 || recordSize & 7 != 0 { break }
            if position &- head &+ recordSize > size { break }
            records.append((offset, Int(recordSize)))
            position &+= recordSize
            if position &- head == size { break }
        }
        return records
    }
}

/// The fields of `struct perf_event_mmap_page` (the first page of every mapping) that the reader uses, at their
/// offsets in the uapi layout (libperf reads them through the struct).
enum MmapPage {
    /// `data_head`: where the kernel writes next (free-running; acquire-load it).
    static let dataHead = 1024
    /// `data_tail`: where the reader has consumed up to (release-store it).
    static let dataTail = 1032
    /// `data_offset`: where the data area starts in the mapping.
    static let dataOffset = 1040
    /// `data_size`: the data area's size.
    static let dataSize = 1048
}

/// What a ring buffer serves: one CPU (the events of every task on it share it), or one task on any CPU (events
/// opened with cpu = -1, which the kernel lets share a ring only with events of the same task).
public enum RingKey: Hashable, Sendable {
    case cpu(Int32)
    case task(Int32)
}

extension PerfEvent {
    /// The ring this event can write into.
    public var ringKey: RingKey { cpu >= 0 ? .cpu(cpu) : .task(pid) }
}

/// mmap of a ring buffer failed; EPERM here almost always means the locked-memory limit.
public struct RingBufferError: Error, CustomStringConvertible {
    public var errno: Errno
    public var bytes: Int
    public var description: String { "mmap of a \(bytes / 1024) KiB ring buffer failed: \(errno)" }
}
