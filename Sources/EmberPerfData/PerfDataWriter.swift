import EmberKernel
#if canImport(Glibc)
import Glibc
#endif

/// Writes a perf.data file as records arrive: header, ids, attrs and the event names first, then the records
/// through a fixed buffer, then at `finish` the feature sections and the final header.
///
/// A recorder killed outright (SIGKILL, a power cut) still leaves a file both Ember and perf read: every flush
/// rewrites the header's data size to the records on disk, with no feature bits until the sections exist, and
/// the event names stand before the data in an `EventNamesBlock` that Ember reads when HEADER_EVENT_DESC is
/// missing.
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
    private let file: OutputFile
    private var fd: Int32 { file.fd }
    private var header = FileHeader(attrEntrySize: 0, attrs: .init(offset: 0, size: 0), data: .init(offset: 0, size: 0))
    private var events: [Event] = []
    private let buffer: UnsafeMutableRawPointer
    private let bufferCapacity = 1 << 20
    private var buffered = 0
    /// Samples in the buffer, and those safely written or dropped by a failed write.
    private var bufferedSamples: UInt64 = 0
    public private(set) var writtenSamples: UInt64 = 0
    public private(set) var droppedSamples: UInt64 = 0
    /// The file offset up to which records are safely on disk: a failed write is cut back to it, so the file
    /// always ends on a whole record.
    private var committed: UInt64 = 0
    /// Bytes of records safely written so far.
    public var dataBytes: UInt64 { committed - header.data.offset }
    /// The file's size once finished.
    public private(set) var fileBytes: UInt64 = 0
    /// Publishing moved an existing file to `path.old`, replacing an older `path.old`.
    public var replacedOld: Bool { file.replacedOld }
    private var closed = false
    private var published = false

    /// Creates the file under a temporary name (mode 0600); the first flush puts it in place, an existing regular
    /// file becoming `path.old`. Anything at `path` but a regular file is refused before anything is opened.
    public init(path: String) throws {
        self.path = path
        file = try OutputFile(path: path, mode: 0o600, keepingOld: true)
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
        let names = EventNamesBlock.encode(eventDescription())
        header = FileHeader(attrEntrySize: UInt64(EventAttr.encodedSize + 16),
                            attrs: FileHeader.Section(offset: offset, size: UInt64(attrs.count)),
                            data: FileHeader.Section(offset: offset + UInt64(attrs.count + names.count), size: 0))
        try writeAll(header.encoded() + ids.bytes + attrs.bytes + names)
        committed = header.data.offset
    }

    /// Puts the file in place once its header counts records: perf refuses a data size of 0, so until the first
    /// flush the file keeps its temporary name (and `path` its previous content).
    private func publish() throws {
        guard !published else { return }
        try file.publish(keepingOld: true)
        published = true
    }

    /// Removes the file after a failure before anything was recorded — only if it is still the file this writer
    /// created — and moves `path.old` back.
    public func abandon() {
        guard !closed else { return }
        closed = true
        file.discard()
    }

    deinit { buffer.deallocate() }

    /// Appends one record (already framed with its header).
    @inline(__always)
    public func append(_ record: UnsafeRawBufferPointer) throws {
        if buffered + record.count > bufferCapacity { try flush() }
        (buffer + buffered).copyMemory(from: record.baseAddress!, byteCount: record.count)
        buffered += record.count
        if record.loadUnaligned(fromByteOffset: 0, as: UInt32.self) == RecordType.sample.rawValue { bufferedSamples += 1 }
    }

    public func append(_ record: [UInt8]) throws {
        try record.withUnsafeBytes { (b) throws in try append(b) }
    }

    /// Appends PERF_RECORD_FINISHED_ROUND: everything before it may be sorted by time.
    public func appendFinishedRound() throws {
        var record: (UInt32, UInt16, UInt16) = (RecordType.finishedRound.rawValue, 0, 8)
        try withUnsafeBytes(of: &record) { (b) throws in try append(UnsafeRawBufferPointer(rebasing: b[0..<8])) }
    }

    /// Writes buffered records to the file and the header's data size after them. On failure (a full disk) the
    /// file is cut back to its last whole record and the buffered records are dropped (and counted).
    public func flush() throws {
        guard buffered > 0 else { return }
        let count = buffered, samples = bufferedSamples
        buffered = 0
        bufferedSamples = 0
        do {
            try writeAll(UnsafeRawBufferPointer(start: buffer, count: count))
            committed += UInt64(count)
            writtenSamples += samples
        } catch {
            droppedSamples += samples
            cutBack()
            throw error
        }
        header.data.size = dataBytes
        try writeHeader()
        try publish()
    }

    /// Counts samples that were read but never reached the file (after a failed write).
    public func countDropped(samples: UInt64) { droppedSamples += samples }

    private func writeHeader() throws {
        let bytes = header.encoded()
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        if n != bytes.count { throw OutputFileError.writeFailed(path: path, errno: Errno.current) }
    }

    private func cutBack() {
        _ = ftruncate(fd, off_t(committed))
        _ = lseek(fd, off_t(committed), SEEK_SET)
    }

    /// Flushes, appends the feature sections (in ascending order) and rewrites the header with the data size.
    public func finish(features: [(Feature, [UInt8])]) throws {
        closed = true
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
        do {
            try writeHeader()
            try publish()
        } catch {
            failure = failure ?? error
        }
        var st = stat()
        if fstat(fd, &st) == 0 { fileBytes = UInt64(st.st_size) }
        do { try file.close() } catch { failure = failure ?? error }
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

    private func writeAll(_ bytes: [UInt8]) throws { try file.write(bytes) }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws { try file.write(bytes) }
}
