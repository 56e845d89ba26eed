import EmberKernel
#if canImport(Glibc)
import Glibc
#endif

/// Writes a perf.data file as records arrive: header, ids, attrs and the event names first, then the records
/// through a fixed buffer, then at `finish` the feature sections and the final header.
///
/// A recorder killed outright (SIGKILL, a power cut) still leaves a file both Ember and perf read: each second the
/// header's data size is rewritten to the records synced to disk, with no feature bits until the sections exist, and
/// the event names stand before the data in an `EventNamesBlock` that Ember reads when HEADER_EVENT_DESC is
/// missing.
///
/// With the path `-` it writes perf's pipe format to standard output instead (`PipeStream`): attrs, names and
/// the features known at the start first, build-ids at the end.
public final class PerfDataWriter {
    /// How the file takes its name.
    public enum Placement: Sendable, Equatable {
        /// `-o FILE`, as perf: in place at the first flush (a recorder killed later leaves a readable file), an
        /// existing FILE becoming FILE.old.
        case replacingKeepingOld
        /// A name Ember chose (a `--switch-output` file): in place at the first flush, never replacing a file there.
        case newName
        /// A snapshot: in place only once complete (a recorder killed meanwhile leaves no half snapshot under that
        /// name), never replacing a file there.
        case newNameWhenFinished
    }

    public let path: String
    private let placement: Placement
    /// The file's device and inode (nil in pipe mode), for removing it later only while it is still this file.
    public var identity: FileIdentity? { file?.identity }
    /// The file being written; nil in pipe mode, where the stream goes to standard output.
    private let file: OutputFile?
    private let fd: Int32
    private var header = FileHeader(attrEntrySize: 0, attrs: .init(offset: 0, size: 0), data: .init(offset: 0, size: 0))
    /// The features known at the start, which a file keeps for its end.
    private var startFeatures: [(Feature, [UInt8])] = []
    private let buffer: UnsafeMutableRawPointer
    private let bufferCapacity = 1 << 20
    private var buffered = 0
    /// Samples in the buffer, and those safely written or dropped by a failed write.
    private var bufferedSamples: UInt64 = 0
    public private(set) var writtenSamples: UInt64 = 0
    /// Where every event's samples keep their time (nil when the events differ), and the first and last sample
    /// time written: HEADER_SAMPLE_TIME, which perf needs for its percent time slices (`--time 10%/3`).
    private var sampleTimeOffset: Int?
    private var sampleTimes: (first: UInt64, last: UInt64)?
    public private(set) var droppedSamples: UInt64 = 0
    /// The offset up to which records are safely written: a failed write to a file is cut back to it, so the
    /// file always ends on a whole record.
    private var committed: UInt64 = 0
    /// Bytes of records safely written so far.
    public var dataBytes: UInt64 { committed - header.data.offset }
    /// The file's size (the stream's length in pipe mode) once finished.
    public private(set) var fileBytes: UInt64 = 0
    /// Publishing moved an existing file to `path.old`, replacing an older `path.old`.
    public var replacedOld: Bool { file?.replacedOld ?? false }
    private var closed = false
    private var abandoned = false
    private var published = false
    /// When the header's data size was last rewritten (monotonic seconds).
    private var headerUpdated = 0.0
    private var events: [EventDescription] = []
    /// The blocks moved out of samples into `SampleSideData`, until `finish` copies them in.
    private var side: SideDataSpool?
    /// Side entries given up (a sample's leaf-repair block, a thread's stack tail): no spool could be made, or the
    /// spool or the section at the end could not be written (a full disk).
    public var sideEntriesLost: UInt64 { sideLost + (side.map { sideWritten ? 0 : $0.entries + $0.lost } ?? 0) }
    private var sideLost: UInt64 = 0
    private var sideWritten = false
    /// Bytes sent to standard output in pipe mode, and whether a write to it failed.
    private var streamBytes: UInt64 = 0
    private var streamBroken = false

    /// Creates the file under a temporary name (mode 0600), put in place as `placement` says. Anything at `path` but
    /// a regular file is refused before anything is opened.
    /// `-` is standard output in pipe mode, refused when it is a terminal.
    public init(path: String, placement: Placement = .replacingKeepingOld) throws {
        self.path = path
        self.placement = placement
        if path == "-" {
            guard isatty(1) == 0 else { throw PerfDataWriteError.terminal }
            file = nil
            fd = 1
        } else {
            let file = try OutputFile(path: path, mode: 0o600, keepingOld: placement == .replacingKeepingOld)
            self.file = file
            fd = file.fd
        }
        buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferCapacity, alignment: 8)
    }

    /// Writes the start of the file — header (data size 0), ids, attrs and names, or a pipe stream's attr, name and
    /// feature records — and keeps `features` (those known before recording) for the end; records may follow.
    /// `target`: the processes the recording was made for (`TargetBlock`; a pipe stream has no place for it).
    public func begin(events: [EventDescription], features: [(Feature, [UInt8])] = [], target: [Int32] = []) throws {
        precondition(!events.isEmpty)
        self.events = events
        let offsets = Set(events.map { SampleLayout(attr: $0.attr).sampleTimeOffset })
        sampleTimeOffset = offsets.count == 1 ? offsets.first! : nil
        guard file != nil else {
            try writeAll(PipeStream.header() + (try PipeStream.start(events: events, features: features)))
            return
        }
        startFeatures = features
        let start = PerfDataLayout.start(events: events, target: target)
        header = start.header
        try writeAll(start.bytes)
        committed = header.data.offset
    }

    /// Puts the file in place once its header counts records: perf refuses a data size of 0, so until the first
    /// flush the file keeps its temporary name (and `path` its previous content).
    private func publish() throws {
        guard !published, let file else { return }
        let perfs = placement == .replacingKeepingOld
        try file.publish(keepingOld: perfs, replacing: perfs)
        published = true
    }

    /// Removes the file after a failure before anything was recorded (or a snapshot that could not be finished) —
    /// only if it is still the file this writer created — and moves `path.old` back.
    public func abandon() {
        guard !abandoned else { return }
        abandoned = true
        closed = true
        file?.discard()
    }

    deinit { buffer.deallocate() }

    /// Appends one record (already framed with its header).
    @inline(__always)
    public func append(_ record: UnsafeRawBufferPointer) throws {
        if buffered + record.count > bufferCapacity { try flush() }
        (buffer + buffered).copyMemory(from: record.baseAddress!, byteCount: record.count)
        buffered += record.count
        if PerfDataWriter.isSample(record) { noteSample(record) }
    }

    /// Appends a sample with the bytes at `moved` (its REGS_USER and STACK_USER parts, registers of `regsMask`)
    /// cut out and kept in the side data (`SampleSideData`). A file only: a pipe stream has nowhere to keep them.
    public func append(_ record: UnsafeRawBufferPointer, movingToSide moved: Range<Int>, regsMask: UInt64) throws {
        precondition(file != nil && moved.lowerBound >= 8 && moved.upperBound <= record.count)
        let size = record.count - moved.count
        if buffered + size > bufferCapacity { try flush() }
        let offset = committed + UInt64(buffered)
        let out = buffer + buffered
        out.copyMemory(from: record.baseAddress!, byteCount: moved.lowerBound)
        out.storeBytes(of: UInt16(size).littleEndian, toByteOffset: 6, as: UInt16.self)
        (out + moved.lowerBound).copyMemory(from: record.baseAddress! + moved.upperBound, byteCount: record.count - moved.upperBound)
        buffered += size
        noteSample(UnsafeRawBufferPointer(start: out, count: size))
        spool(regsMask: regsMask)?.append(.userParts, key: offset, block: UnsafeRawBufferPointer(rebasing: record[moved]))
    }

    /// The side data's spool, made at the first entry; nil (the entry counted as lost) when none can be made.
    private func spool(regsMask: UInt64 = 0) -> SideDataSpool? {
        if side == nil { side = SideDataSpool(beside: path, regsMask: regsMask) }
        if side == nil { sideLost += 1 }
        return side
    }

    /// Where the next record appended will lie in the file.
    public var nextRecordOffset: UInt64 { committed + UInt64(buffered) }

    /// Keeps a thread's stack tail beside the samples (`SampleSideData.Kind.stackTail`): the bytes at `address` of
    /// thread `tid`, for its samples written at file offsets `samples`; with `restOf`, only the lower part of it,
    /// the rest being the whole tail kept for the thread's sample at that offset (`stackTailPart`). Written with the
    /// next flush, or given up with its records when that fails. A file only.
    public func appendStackTail(tid: Int32, samples: ClosedRange<UInt64>, address: UInt64, bytes: UnsafeRawBufferPointer, restOf: UInt64? = nil) {
        precondition(file != nil)
        guard let side = spool() else { return }
        var head = ByteWriter()
        head.u64(samples.lowerBound)
        head.u64(samples.upperBound)
        head.u64(address)
        if let restOf { head.u64(restOf) }
        side.append(restOf == nil ? .stackTail : .stackTailPart, key: UInt64(UInt32(bitPattern: tid)), head: head.bytes, block: bytes)
    }

    /// Keeps a sample's Swift async context chains beside it (`SampleSideData.Kind.asyncChains`): `words` as the
    /// capture program wrote them, for the sample written at file offset `sample`. A file only.
    public func appendAsyncChains(sample: UInt64, words: UnsafeRawBufferPointer) {
        precondition(file != nil)
        spool()?.append(.asyncChains, key: sample, block: words)
    }

    @inline(__always)
    private func noteSample(_ record: UnsafeRawBufferPointer) {
        bufferedSamples += 1
        if let o = sampleTimeOffset, let time = record.u64(o) {
            sampleTimes = (min(sampleTimes?.first ?? time, time), max(sampleTimes?.last ?? time, time))
        }
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
            side?.commit()
        } catch {
            droppedSamples += samples
            side?.discardPending()
            cutBack()
            throw error
        }
        guard file != nil else { return }
        try updateHeader()
    }

    /// Rewrites the header's data size, at the first flush and then at most once a second: after fdatasync, so
    /// that even after a power cut the header never counts records that are not on disk.
    private func updateHeader() throws {
        let now = monotonicSeconds()
        guard !published || now - headerUpdated >= 1 else { return }
        if fdatasync(fd) != 0, errno != EINVAL { throw OutputFileError.writeFailed(path: path, errno: Errno.current) }
        header.data.size = dataBytes
        try writeHeader()
        if placement != .newNameWhenFinished { try publish() }
        headerUpdated = now
    }

    /// Counts a record that was read but will never reach the file (after a failed write), if it is a sample.
    public func countDropped(_ record: UnsafeRawBufferPointer) {
        if PerfDataWriter.isSample(record) { droppedSamples += 1 }
    }

    @inline(__always)
    private static func isSample(_ record: UnsafeRawBufferPointer) -> Bool {
        record.loadUnaligned(fromByteOffset: 0, as: UInt32.self) == RecordType.sample.rawValue
    }

    private func writeHeader() throws {
        let bytes = header.encoded()
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        if n != bytes.count { throw OutputFileError.writeFailed(path: path, errno: Errno.current) }
    }

    private func cutBack() {
        guard file != nil else { return }
        _ = ftruncate(fd, off_t(committed))
        _ = lseek(fd, off_t(committed), SEEK_SET)
    }

    /// Flushes, appends the feature sections (those given to `begin` and `features`, in ascending order) and
    /// rewrites the header with the data size. A pipe stream ends with its build-ids instead.
    public func finish(features: [(Feature, [UInt8])]) throws {
        closed = true
        var failure: Error?
        do { try flush() } catch { failure = error }
        guard let file else {
            // HEADER_BUILD_ID records, as the BUILD_ID feature already holds them.
            if failure == nil, let ids = features.first(where: { $0.0 == .buildID }) {
                do { try writeAll(ids.1) } catch { failure = error }
            }
            fileBytes = streamBytes
            if let failure { throw failure }
            return
        }
        header.data.size = dataBytes
        var features = features
        if let times = sampleTimes {
            var w = ByteWriter()
            w.u64(times.first)
            w.u64(times.last)
            features.append((.sampleTime, w.bytes))
        }
        // The side data comes last, copied from its spool: its bit is the highest.
        let spooled = side.flatMap { $0.failed || $0.entries == 0 ? nil : $0 }
        let trailing = spooled.map { (Feature.emberSideData, UInt64(SampleSideData.headerSize) + $0.bytes) }
        do {
            try writeAll(PerfDataLayout.features(startFeatures + features, at: committed, header: &header, trailing: trailing))
            if let spooled {
                try writeAll(SampleSideData.header(regsMask: spooled.regsMask, entries: spooled.entries))
                try spooled.forEachPiece { try writeAll($0) }
                sideWritten = true
            }
        } catch {
            // Without room for the feature sections the records still stand: keep them, drop the sections.
            cutBack()
            header.features = [0, 0, 0, 0]
            failure = failure ?? error
        }
        do {
            try writeHeader()
            // A snapshot takes its name only when whole.
            if failure == nil || placement != .newNameWhenFinished { try publish() }
        } catch {
            failure = failure ?? error
        }
        var st = stat()
        if fstat(fd, &st) == 0 { fileBytes = UInt64(st.st_size) }
        do { try file.close() } catch { failure = failure ?? error }
        if let failure { throw failure }
    }

    /// The HEADER_EVENT_DESC payload for this file's events.
    public func eventDescription() -> [UInt8] { PerfDataLayout.eventDescription(events) }

    private func writeAll(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try writeAll($0) }
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        if let file { return try file.write(bytes) }
        // A stream torn inside a record cannot be framed again: after a failed write nothing more is sent.
        guard !streamBroken else { throw OutputFileError.writeFailed(path: "standard output", errno: Errno(EPIPE)) }
        do {
            try EmberKernel.writeAll(fd: fd, bytes)
        } catch {
            streamBroken = true
            throw OutputFileError.writeFailed(path: "standard output", errno: error)
        }
        streamBytes += UInt64(bytes.count)
    }
}

public enum PerfDataWriteError: Error, CustomStringConvertible {
    case terminal
    case tooManyIDs(event: String, count: Int)

    public var description: String {
        switch self {
        case .terminal:
            return "standard output is a terminal; pipe the recording to a reader (ember record -o - -- CMD | ember script -i -)"
        case .tooManyIDs(let event, let count):
            return "\(event) has \(count) event ids (threads x CPUs), more than a pipe stream's attr record holds; record to a file with -o FILE"
        }
    }
}
