import EmberKernel
#if canImport(Glibc)
import Glibc
#endif

/// Writes a perf.data file as records arrive: header, ids and attrs first (with a data size of 0, which readers
/// take as "read to the end of the file", so a recorder killed mid-way still leaves a readable file), then the
/// records through a fixed buffer, then at `finish` the feature sections and the final header.
public final class PerfDataWriter {
    public struct Event {
        public var attr: EventAttr
        public var ids: [UInt64]
        public var name: String
        public init(attr: EventAttr, ids: [UInt64], name: String) {
            self.attr = attr
            self.ids = ids
            self.name = name
        }
    }

    public let path: String
    private let fd: Int32
    private var header = FileHeader(attrEntrySize: 0, attrs: .init(offset: 0, size: 0), data: .init(offset: 0, size: 0))
    private var events: [Event] = []
    private var renamedOld = false
    private let buffer: UnsafeMutableRawPointer
    private let bufferCapacity = 1 << 20
    private var buffered = 0
    /// The file offset up to which records are safely on disk: a failed write is cut back to it, so the file
    /// always ends on a whole record.
    private var committed: UInt64 = 0
    /// Bytes of records safely written so far.
    public var dataBytes: UInt64 { committed - header.data.offset }
    private var closed = false

    /// Creates `path` with mode 0600; an existing file is renamed to `path.old` first (and back by `abandon`).
    public init(path: String) throws {
        self.path = path
        var st = stat()
        if stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG {
            if rename(path, path + ".old") != 0 { throw PerfDataWriteError.cannotCreate(path: path, errno: Errno.current) }
            renamedOld = true
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let e = Errno.current
            if renamedOld { rename(path + ".old", path) }
            throw PerfDataWriteError.cannotCreate(path: path, errno: e)
        }
        self.fd = fd
        buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferCapacity, alignment: 8)
    }

    /// Writes the header (data size 0), the id arrays and the attrs; records may follow.
    public func begin(events: [Event]) throws {
        precondition(!events.isEmpty && self.events.isEmpty)
        self.events = events
        // Layout: header | id arrays | attr entries | data.
        var offset = UInt64(FileHeader.size)
        var ids = ByteWriter()
        var idSections: [(UInt64, UInt64)] = []
        for e in events {
            idSections.append((offset + UInt64(ids.count), UInt64(e.ids.count * 8)))
            for id in e.ids { ids.u64(id) }
        }
        offset += UInt64(ids.count)
        var attrs = ByteWriter()
        for (e, (o, s)) in zip(events, idSections) {
            attrs.raw(e.attr.encoded())
            attrs.u64(o)
            attrs.u64(s)
        }
        header = FileHeader(attrEntrySize: UInt64(EventAttr.encodedSize + 16),
                            attrs: FileHeader.Section(offset: offset, size: UInt64(attrs.count)),
                            data: FileHeader.Section(offset: offset + UInt64(attrs.count), size: 0))
        try writeAll(header.encoded() + ids.bytes + attrs.bytes)
        committed = header.data.offset
    }

    /// Removes the file after a failure before anything was recorded, restoring a renamed `path.old`.
    public func abandon() {
        guard !closed else { return }
        closed = true
        close(fd)
        unlink(path)
        if renamedOld { rename(path + ".old", path) }
    }

    deinit {
        if !closed { close(fd) }
        buffer.deallocate()
    }

    /// Appends one record (already framed with its header).
    @inline(__always)
    public func append(_ record: UnsafeRawBufferPointer) throws {
        if buffered + record.count > bufferCapacity { try flush() }
        (buffer + buffered).copyMemory(from: record.baseAddress!, byteCount: record.count)
        buffered += record.count
    }

    public func append(_ record: [UInt8]) throws {
        try record.withUnsafeBytes { (b) throws in try append(b) }
    }

    /// Appends PERF_RECORD_FINISHED_ROUND: everything before it may be sorted by time.
    public func appendFinishedRound() throws {
        var record: (UInt32, UInt16, UInt16) = (RecordType.finishedRound.rawValue, 0, 8)
        try withUnsafeBytes(of: &record) { (b) throws in try append(UnsafeRawBufferPointer(rebasing: b[0..<8])) }
    }

    /// Writes buffered records to the file. On failure (a full disk) the file is cut back to its last whole
    /// record and the buffered records are dropped.
    public func flush() throws {
        guard buffered > 0 else { return }
        let count = buffered
        buffered = 0
        do {
            try writeAll(UnsafeRawBufferPointer(start: buffer, count: count))
            committed += UInt64(count)
        } catch {
            cutBack()
            throw error
        }
    }

    private func cutBack() {
        _ = ftruncate(fd, off_t(committed))
        _ = lseek(fd, off_t(committed), SEEK_SET)
    }

    /// Flushes, appends the feature sections (in ascending order) and rewrites the header with the data size.
    public func finish(features: [(Feature, [UInt8])]) throws {
        defer {
            closed = true
            close(fd)
        }
        var failure: Error?
        do { try flush() } catch { failure = error }
        header.data.size = dataBytes
        do {
            try writeFeatures(features)
        } catch {
            // Without room for the feature sections the records still stand: keep them, drop the sections.
            cutBack()
            header.features = [0, 0, 0, 0]
            failure = failure ?? error
        }
        let bytes = header.encoded()
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        if n != bytes.count { failure = failure ?? PerfDataWriteError.writeFailed(path: path, errno: Errno.current) }
        if fsync(fd) != 0, failure == nil { failure = PerfDataWriteError.writeFailed(path: path, errno: Errno.current) }
        if let failure { throw failure }
    }

    private func writeFeatures(_ features: [(Feature, [UInt8])]) throws {
        let sorted = features.sorted { $0.0.rawValue < $1.0.rawValue }
        var table = ByteWriter()
        var payloads = ByteWriter()
        var payloadOffset = committed + UInt64(16 * sorted.count)
        for (feature, bytes) in sorted {
            header.setFeature(feature.rawValue)
            table.u64(payloadOffset)
            table.u64(UInt64(bytes.count))
            payloads.raw(bytes)
            payloadOffset += UInt64(bytes.count)
        }
        try writeAll(table.bytes + payloads.bytes)
    }

    /// The HEADER_EVENT_DESC payload for this file's events.
    public func eventDescription() -> [UInt8] {
        var w = ByteWriter()
        w.u32(UInt32(events.count))
        w.u32(UInt32(EventAttr.encodedSize))
        for e in events {
            w.raw(e.attr.encoded())
            w.u32(UInt32(e.ids.count))
            w.perfString(e.name)
            for id in e.ids { w.u64(id) }
        }
        return w.bytes
    }

    private func writeAll(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { (b) throws in try writeAll(b) }
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw PerfDataWriteError.writeFailed(path: path, errno: Errno.current)
            }
            done += n
        }
    }
}

public enum PerfDataWriteError: Error, CustomStringConvertible {
    case cannotCreate(path: String, errno: Errno)
    case writeFailed(path: String, errno: Errno)

    public var description: String {
        switch self {
        case .cannotCreate(let path, let e): return "cannot create \(path): \(e)"
        case .writeFailed(let path, let e): return "writing \(path) failed: \(e)"
        }
    }
}
