import EmberKernel
#if canImport(Glibc)
import Glibc
#endif

/// A perf.data file, mapped read-only, streamed record by record.
///
/// Records come out sorted by time within each FINISHED_ROUND, as perf's ordered-events queue hands them on, so
/// that a MMAP2 drained from one CPU's buffer is applied before a later sample drained from another's.
public final class PerfDataFile {
    /// Told how far a reading has come (bytes of the data section read, of all), every few megabytes and at the end.
    public var progress: ((_ done: Int, _ total: Int) -> Void)?
    public let path: String
    public let header: FileHeader
    public let events: [EventDescription]
    /// When the file was last written (for a pipe on standard input, when it was read to its end), in
    /// nanoseconds since the epoch: for a recording, about when it ended.
    public let modificationTime: UInt64
    /// Problems found that did not stop reading (a truncated file, an unfinished recording); each said once.
    public private(set) var warnings: [String] = []
    /// The processes the recording was made for (`TargetBlock`: a command, whose process tree is meant, or `-p`
    /// processes); empty when it does not say (`-a`, perf's recordings, pipe streams).
    public let recordedTarget: [Int32]
    /// An archive's sections beside its recording (`ArchiveContainer`), by kind; nil for a recording.
    public let archiveSections: [UInt32: [UInt8]]?
    private let base: UnsafeRawPointer
    private let fileSize: Int
    private let dataRange: Range<Int>
    private let featureSections: [Feature: Range<Int>]
    private let eventIDs: EventIDTable
    /// Each event's sample layout, read per record (indexing `events` copied a whole description each time).
    private let layouts: [SampleLayout]
    /// The file ends before its header says it should; said once.
    private let truncated: Bool
    /// `SampleSideData`: blocks by their sample's file offset and their registers' mask, stack tails by thread.
    private let sideData: SampleSideData.Index?

    /// Opens a recording: a perf.data file, perf's pipe format (in a file, or on standard input as `-`), with
    /// or without compressed records. Pipe streams and compressed recordings are rebuilt in memory as an
    /// ordinary file image first.
    public convenience init(path: String) throws {
        var notes: [String] = []
        let mapped = try PerfDataFile.map(path, notes: &notes)
        try self.init(path: path, mapped: mapped, notes: notes)
    }

    /// Reads a recording (or pipe stream, or archive) held in memory, as `path` would be read from a file; `name`
    /// stands for the path in messages.
    public convenience init(bytes: [UInt8], name: String) throws {
        var notes: [String] = []
        guard bytes.count >= 8 else { throw PerfDataError.notPerfData(reason: "it is shorter than a perf.data header") }
        let mapped = try PerfDataFile.image(of: bytes, modified: 0, notes: &notes)
        try self.init(path: name, mapped: mapped, notes: notes)
    }

    private init(path: String, mapped: (pointer: UnsafeRawPointer, size: Int, modified: UInt64, archive: [UInt32: [UInt8]]?),
                 notes: [String]) throws {
        self.path = path
        var notes = notes
        var (p, size) = (mapped.pointer, mapped.size)
        modificationTime = mapped.modified
        archiveSections = mapped.archive
        do {
            var file = UnsafeRawBufferPointer(start: p, count: size)
            var parsed = try Parsed(file, notes: &notes)
            if parsed.header.hasFeature(Feature.compressed.rawValue) {
                let image = try PerfDataFile.decompressed(file, parsed, notes: &notes)
                let expanded = try PerfDataFile.anonymousMapping(image)
                munmap(UnsafeMutableRawPointer(mutating: p), size)
                (p, size) = expanded
                file = UnsafeRawBufferPointer(start: p, count: size)
                parsed = try Parsed(file, notes: &notes)
            }
            header = parsed.header
            events = parsed.events
            dataRange = parsed.dataRange
            featureSections = parsed.featureSections
            truncated = parsed.truncated
            recordedTarget = parsed.target
        } catch {
            munmap(UnsafeMutableRawPointer(mutating: p), size)
            throw error
        }
        base = p
        fileSize = size
        sideData = featureSections[.emberSideData].flatMap { range in
            SampleSideData.index(UnsafeRawBufferPointer(start: p + range.lowerBound, count: range.count), sectionStart: range.lowerBound)
        }
        eventIDs = EventIDTable(events)
        layouts = events.map(\.layout)
        for note in notes where !warnings.contains(note) { warnings.append(note) }
    }

    /// What the header, attrs and feature table of a mapped image say.
    private struct Parsed {
        var header: FileHeader
        var events: [EventDescription]
        var dataRange: Range<Int>
        var featureSections: [Feature: Range<Int>]
        /// The file ends before its header says it should; said once.
        var truncated: Bool
        var target: [Int32]

        init(_ file: UnsafeRawBufferPointer, notes: inout [String]) throws {
            header = try FileHeader(decoding: file)
            let gap = PerfDataFile.gap(header: header, file: file)
            let names = gap.flatMap(EventNamesBlock.decode)
            target = gap.map(TargetBlock.decode) ?? []
            dataRange = try PerfDataFile.dataRange(header: header, fileSize: file.count, emberNames: names != nil, notes: &notes)
            featureSections = PerfDataFile.featureTable(header: header, file: file, notes: &notes)
            events = try PerfDataFile.readAttrs(header: header, file: file)
            if let desc = featureSections[.eventDesc] {
                PerfDataFile.applyEventDescriptions(UnsafeRawBufferPointer(rebasing: file[desc]), to: &events)
            } else if let names {
                PerfDataFile.applyEventDescriptions(names, to: &events)
            }
            truncated = header.data.size != 0 && dataRange.upperBound == file.count
                && UInt64(file.count - dataRange.lowerBound) < header.data.size
        }
    }

    /// The bytes of `path` mapped read-only, or of standard input for `-`; a pipe stream comes back rebuilt.
    /// Also when it was last written (ns since the epoch).
    private static func map(_ path: String, notes: inout [String]) throws -> (pointer: UnsafeRawPointer, size: Int, modified: UInt64, archive: [UInt32: [UInt8]]?) {
        if path == "-" {
            guard isatty(0) == 0 else {
                throw PerfDataError.cannotOpen(path: "standard input", reason: "it is a terminal; pipe a recording in (ember record -o - -- CMD | ember script -i -)")
            }
            let bytes: [UInt8]
            do {
                bytes = try readInput("-", head: 8) { head in
                    guard head.count < 8 || PerfDataFile.startsLikeRecording(head) else {
                        throw PerfDataError.notPerfData(reason: "standard input does not start like perf data (PERFILE2); pipe a recording in (ember record -o - -- CMD | ember script -i -)")
                    }
                }
            } catch let e as InputError {
                throw PerfDataError.cannotOpen(path: "standard input", reason: "\(e)")
            }
            guard bytes.count >= 8 else { throw PerfDataError.notPerfData(reason: bytes.isEmpty ? "standard input is empty" : "it is shorter than a perf.data header") }
            // A pipe's times say when it was made; a stream read to its end ended now.
            var st = stat(), now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            let modified = fstat(0, &st) == 0 && st.st_mode & S_IFMT == S_IFREG ? nanoseconds(st.st_mtim) : nanoseconds(now)
            return try image(of: bytes, modified: modified, notes: &notes)
        }
        // O_NONBLOCK: a FIFO named by mistake must not block the open before fstat refuses it.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw PerfDataError.cannotOpen(path: path, reason: Errno.current.description) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw PerfDataError.cannotOpen(path: path, reason: Errno.current.description) }
        guard st.st_mode & S_IFMT == S_IFREG else { throw PerfDataError.cannotOpen(path: path, reason: "not a regular file (use -i - to read a pipe)") }
        let size = Int(st.st_size)
        guard size >= 8 else { throw PerfDataError.notPerfData(reason: size == 0 ? "the file is empty" : "it is shorter than a perf.data header") }
        // Small files are faulted in at once (far cheaper than a fault per page); large ones stream.
        let populate = size <= PerfDataFile.prefaultLimit ? MAP_POPULATE : 0
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE | populate, fd, 0), p != MAP_FAILED else {
            throw PerfDataError.cannotOpen(path: path, reason: Errno.current.description)
        }
        madvise(p, size, MADV_SEQUENTIAL)
        let file = UnsafeRawBufferPointer(start: p, count: size)
        if let archive = try unpacked(file) {
            defer { munmap(p, size) }
            let (image, imageSize) = try anonymousMapping(archive.recording)
            return (image, imageSize, archive.modified, archive.sections)
        }
        guard PipeStream.isPipe(file) else { return (UnsafeRawPointer(p), size, nanoseconds(st.st_mtim), nil) }
        defer { munmap(p, size) }
        let (image, imageSize) = try anonymousMapping(try PipeStream.rebuild(file, warnings: &notes))
        return (image, imageSize, nanoseconds(st.st_mtim), nil)
    }

    /// Bytes read whole (standard input, memory) as a mapped perf.data image: an archive unpacked, a pipe stream
    /// rebuilt.
    private static func image(of bytes: [UInt8], modified: UInt64, notes: inout [String]) throws
        -> (pointer: UnsafeRawPointer, size: Int, modified: UInt64, archive: [UInt32: [UInt8]]?) {
        if let archive = try bytes.withUnsafeBytes({ try unpacked($0) }) {
            let (p, size) = try anonymousMapping(archive.recording)
            return (p, size, archive.modified, archive.sections)
        }
        let image = try bytes.withUnsafeBytes { b in PipeStream.isPipe(b) ? try PipeStream.rebuild(b, warnings: &notes) : bytes }
        let (p, size) = try anonymousMapping(image)
        return (p, size, modified, nil)
    }

    /// Whether `bytes` begin as something the readers open: a perf.data file or pipe stream (`PERFILE2`), or an
    /// Ember archive.
    public static func startsLikeRecording<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Bool {
        bytes.starts(with: "PERFILE2".utf8) || bytes.starts(with: ArchiveContainer.magic)
    }

    /// An archive's recording, its time and its other sections; nil for anything that is not an archive.
    private static func unpacked(_ bytes: UnsafeRawBufferPointer) throws -> (recording: [UInt8], modified: UInt64, sections: [UInt32: [UInt8]])? {
        guard ArchiveContainer.isArchive(bytes) else { return nil }
        let container = try ArchiveContainer(bytes)
        var sections: [UInt32: [UInt8]] = [:]
        // Only the kinds this Ember reads: a section may span the whole file, and a corrupt table repeat it 64 times.
        for (kind, range) in container.sections where ArchiveContainer.Section(rawValue: kind) != nil { sections[kind] = Array(bytes[range]) }
        let recording = sections.removeValue(forKey: ArchiveContainer.Section.recording.rawValue) ?? []
        guard recording.count >= 8 else { throw PerfDataError.corrupt("the archive's recording is cut short") }
        return (recording, container.modificationTime, sections)
    }

    /// The recording's bytes as read: a perf.data image (a pipe stream or compressed recording rebuilt).
    public var image: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: fileSize) }

    private static func nanoseconds(_ t: timespec) -> UInt64 {
        UInt64(clamping: t.tv_sec) &* 1_000_000_000 &+ UInt64(clamping: t.tv_nsec)
    }

    /// `bytes` copied into a private anonymous mapping, released like a file's by `deinit`.
    private static func anonymousMapping(_ bytes: [UInt8]) throws -> (UnsafeRawPointer, Int) {
        let size = bytes.count
        guard size > 0, let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            throw PerfDataError.cannotOpen(path: "memory", reason: Errno.current.description)
        }
        bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return (UnsafeRawPointer(p), bytes.count)
    }

    /// The image of a compressed recording with its COMPRESSED records expanded: the same events and features
    /// (less HEADER_COMPRESSED), the records in order.
    private static func decompressed(_ file: UnsafeRawBufferPointer, _ parsed: Parsed, notes: inout [String]) throws -> [UInt8] {
        var collector = DataCollector(inputSize: file.count)
        var offset = parsed.dataRange.lowerBound
        let end = parsed.dataRange.upperBound
        while end - offset >= 8 {
            let size = Int(file.loadUnaligned(fromByteOffset: offset + 6, as: UInt16.self))
            guard size >= 8, size <= end - offset else { break }
            let record = UnsafeRawBufferPointer(rebasing: file[offset..<(offset + size)])
            offset += size
            try collector.add(record)
            if RecordType(rawValue: record.loadUnaligned(fromByteOffset: 0, as: UInt32.self)) == .auxtrace {
                // The AUX payload follows the record, uncounted in its size.
                guard let payload = record.u64(8), payload <= UInt64(end - offset) else { break }
                collector.addPayload(UnsafeRawBufferPointer(rebasing: file[offset..<(offset + Int(payload))]))
                offset += Int(payload)
            }
        }
        notes += collector.warnings
        let events = parsed.events.map { EventDescription(attr: $0.attr, ids: $0.ids, name: $0.name) }
        let features = parsed.featureSections.filter { $0.key != .compressed }.map { ($0.key, Array(file[$0.value])) }
        return PerfDataLayout.image(events: events, data: collector.data, features: features)
    }

    /// Files up to this size are faulted in whole when opened.
    private static let prefaultLimit = 64 << 20

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), fileSize) }

    /// The bytes of a feature section, when the file has it.
    public func section(_ feature: Feature) -> UnsafeRawBufferPointer? {
        guard let r = featureSections[feature] else { return nil }
        return UnsafeRawBufferPointer(start: base + r.lowerBound, count: r.count)
    }

    public var dataSize: Int { dataRange.count }

    /// Whether some samples keep parts beside them (`SampleSideData`), for `sideBlock(of:)` and `stackTail(of:tid:)`.
    public var hasSideData: Bool { sideData.map { !$0.blocks.isEmpty || !$0.tails.isEmpty || !$0.chains.isEmpty } ?? false }

    /// The REGS_USER and STACK_USER parts kept beside a sample record of this file (`SampleSideData`), with the
    /// registers' mask; nil when it has none.
    @inline(__always)
    public func sideBlock(of record: UnsafeRawBufferPointer) -> (block: UnsafeRawBufferPointer, regsMask: UInt64)? {
        guard let sideData, let start = record.baseAddress else { return nil }
        guard let range = sideData.blocks[start - base] else { return nil }
        return (UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count), sideData.regsMask)
    }

    /// The rest of thread `tid`'s stack read when a sample record of this file was drained (`SampleSideData`);
    /// nil when the recording read none for it.
    @inline(__always)
    public func stackTail(of record: UnsafeRawBufferPointer, tid: Int32) -> StackTail? {
        guard let sideData, !sideData.tails.isEmpty, let start = record.baseAddress,
              let tails = sideData.tails[tid], let tail = PerfDataFile.tail(serving: start - base, in: tails) else { return nil }
        var out = StackTail(address: tail.address, bytes: UnsafeRawBufferPointer(start: base + tail.bytes.lowerBound, count: tail.bytes.count))
        if let restOf = tail.restOf {
            // The rest must be a whole tail that goes on where this part ends.
            guard let rest = PerfDataFile.tail(serving: restOf, in: tails), rest.restOf == nil,
                  rest.address <= out.end, rest.address &+ UInt64(rest.bytes.count) > out.end else { return nil }
            out.rest = StackTail.Rest(address: rest.address, bytes: UnsafeRawBufferPointer(start: base + rest.bytes.lowerBound, count: rest.bytes.count))
        }
        return out
    }

    /// The Swift async context chains taken with a sample record of this file (`SampleSideData.Kind.asyncChains`).
    @inline(__always)
    public func asyncChains(of record: UnsafeRawBufferPointer) -> AsyncChains? {
        guard let sideData, !sideData.chains.isEmpty, let start = record.baseAddress,
              let range = sideData.chains[start - base] else { return nil }
        return AsyncChains(words: UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count))
    }

    /// The tail that serves the sample at file offset `offset`. Tails are written in file order: the last that
    /// begins at or before it.
    private static func tail(serving offset: Int, in tails: [SampleSideData.TailEntry]) -> SampleSideData.TailEntry? {
        var low = 0, high = tails.count
        while low < high {
            let mid = (low + high) / 2
            if tails[mid].samples.lowerBound <= offset { low = mid + 1 } else { high = mid }
        }
        guard low > 0, tails[low - 1].samples.contains(offset) else { return nil }
        return tails[low - 1]
    }

    /// Visits every record in time order, with perf's round rule (`RoundQueue`). A record that cannot be framed
    /// ends the walk with a warning; everything before it is still handed on.
    public func forEachRecord(_ body: (RecordRef) throws -> Void) rethrows {
        defer { progress?(dataRange.count, dataRange.count) }
        var queue = RoundQueue()
        var reported = dataRange.lowerBound
        var lastTime: UInt64 = 0

        func dispatch(_ entry: RoundQueue.Entry) throws {
            let offset = entry.offset
            let size = Int(base.loadUnaligned(fromByteOffset: offset + 6, as: UInt16.self))
            let bytes = UnsafeRawBufferPointer(start: base + offset, count: size)
            let type = RecordType(rawValue: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            let misc = base.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self)
            try body(RecordRef(type: type, misc: misc, bytes: bytes, eventIndex: entry.event, time: entry.time))
        }

        // A large file is read once front to back; pages every record of which was handed on go back to the
        // kernel, so that memory follows the round size, not the file size.
        let streaming = fileSize > PerfDataFile.prefaultLimit
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        var released = 0
        func release(before offset: Int) {
            let releasable = queue.settled(below: offset) / page * page
            if streaming, releasable > released + (8 << 20) {
                madvise(UnsafeMutableRawPointer(mutating: base) + released, releasable - released, MADV_DONTNEED)
                released = releasable
            }
        }

        // Ahead of the reader, fault pages in a window at a time (MADV_POPULATE_READ): one call instead of a
        // page fault every few pages.
        var populated = streaming ? dataRange.lowerBound / page * page : fileSize
        let window = 16 << 20
        var offset = dataRange.lowerBound
        while offset + 8 <= dataRange.upperBound {
            if offset >= populated - window / 2, populated < fileSize {
                let length = min(window, fileSize - populated)
                madvise(UnsafeMutableRawPointer(mutating: base) + populated, length, 22 /* MADV_POPULATE_READ */)
                populated += length
            }
            let type = RecordType(rawValue: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            let size = Int(base.loadUnaligned(fromByteOffset: offset + 6, as: UInt16.self))
            guard size >= 8, size <= dataRange.upperBound - offset else {
                if size < 8 {
                    warn("corrupt record at byte \(offset); stopped reading there")
                } else if !truncated {
                    warn("the last record is cut short at byte \(offset); the file is truncated")
                }
                break
            }
            var next = offset + size
            if offset - reported >= 4 << 20, let progress {
                progress(offset - dataRange.lowerBound, dataRange.count)
                reported = offset
            }
            switch type {
            case .finishedRound:
                try queue.finishRound(dispatch)
                release(before: offset)
            case .auxtrace:
                // The AUX payload follows the record without being counted in its size.
                let payload = size >= 16 ? base.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self) : UInt64.max
                guard payload <= UInt64(dataRange.upperBound - next) else {
                    warn("corrupt AUXTRACE record at byte \(offset); stopped reading there")
                    next = dataRange.upperBound
                    break
                }
                next += Int(payload)
            case .compressed:
                warn("a compressed record in a recording without HEADER_COMPRESSED was skipped")
            case .compressed2:
                warn("the recording has PERF_RECORD_COMPRESSED2 records (a newer perf's record -z), which Ember does not read yet; they were skipped")
            default:
                if type.rawValue >= 64 { break }
                let bytes = UnsafeRawBufferPointer(start: base + offset, count: size)
                let event = eventIndex(of: bytes, type: type)
                if let t = layouts[event].time(of: bytes, type: type) { lastTime = t }
                try queue.add(time: lastTime, offset: offset, event: event, dispatch)
            }
            offset = next
        }
        try queue.drain(dispatch)
        if queue.overflowed {
            warn("a round held more than four million records; they were ordered in parts, so a few may be out of order")
        }
    }

    @inline(__always)
    private func eventIndex(of bytes: UnsafeRawBufferPointer, type: RecordType) -> Int {
        guard layouts.count > 1, let id = layouts[0].id(of: bytes, type: type) else { return 0 }
        return eventIDs.event(id) ?? 0
    }

    private func warn(_ message: String) {
        if !warnings.contains(message) { warnings.append(message) }
    }

    private static func dataRange(header: FileHeader, fileSize: Int, emberNames: Bool, notes: inout [String]) throws -> Range<Int> {
        let start = Int(clamping: header.data.offset)
        guard start >= 72, start <= fileSize else { throw PerfDataError.corrupt("the data section starts past the end of the file") }
        let end = start.addingReportingOverflow(Int(clamping: header.data.size))
        if header.data.size == 0 {
            if fileSize > start {
                notes.append("the recording was not finalized (its recorder was killed, or its disk filled up); reading records to the end of the file")
            }
            return start..<fileSize
        }
        // A file of Ember's always ends with feature sections; without them its recorder stopped before it
        // finished, and the header counts the records that were on disk at its last update (each second).
        if emberNames, header.features.allSatisfy({ $0 == 0 }) {
            notes.append("the recording was not finalized (its recorder was killed, or its disk filled up); reading the records its header counts")
        }
        if end.overflow || end.partialValue > fileSize {
            notes.append("the file is truncated: its data section should end at byte \(header.data.offset &+ header.data.size) but the file has \(fileSize) bytes; reading what is there")
            return start..<fileSize
        }
        return start..<end.partialValue
    }

    private static func featureTable(header: FileHeader, file: UnsafeRawBufferPointer, notes: inout [String]) -> [Feature: Range<Int>] {
        let end = header.data.offset.addingReportingOverflow(header.data.size)
        guard header.data.size > 0, !end.overflow, end.partialValue <= UInt64(file.count) else { return [:] }
        var table: [Feature: Range<Int>] = [:]
        var at = Int(end.partialValue)
        for bit in 0..<256 where header.hasFeature(bit) {
            guard let offset = file.u64(at), let size = file.u64(at + 8) else {
                notes.append("the feature sections are cut short; the file is truncated")
                break
            }
            at += 16
            let o = Int(clamping: offset), s = Int(clamping: size)
            guard o <= file.count, s <= file.count - o else {
                notes.append("the feature sections are cut short; the file is truncated")
                continue
            }
            if let f = Feature(rawValue: bit) { table[f] = o..<(o + s) }
        }
        return table
    }

    private static func readAttrs(header: FileHeader, file: UnsafeRawBufferPointer) throws -> [EventDescription] {
        let entry = Int(clamping: header.attrEntrySize)
        guard entry >= 64 + 16, let section = file.slice(Int(clamping: header.attrs.offset), Int(clamping: header.attrs.size)) else {
            throw PerfDataError.corrupt("the attr section is missing or out of bounds")
        }
        var events: [EventDescription] = []
        // Each id is 8 bytes of the file, and no two attrs share an id array (neither perf nor Ember writes them so):
        // more ids than that are attrs pointing at one range over and over (1 MiB could ask for 13 GiB).
        var idsLeft = file.count / 8
        for start in stride(from: 0, to: section.count - entry + 1, by: entry) {
            let bytes = UnsafeRawBufferPointer(rebasing: section[start..<(start + entry)])
            let attrBytes = UnsafeRawBufferPointer(rebasing: bytes[0..<(entry - 16)])
            guard let attr = try? EventAttr(decoding: attrBytes) else { throw PerfDataError.corrupt("an attr is too short") }
            var ids: [UInt64] = []
            if let idsOffset = bytes.u64(entry - 16), let idsSize = bytes.u64(entry - 8),
               let raw = file.slice(Int(clamping: idsOffset), Int(clamping: idsSize)) {
                guard raw.count / 8 <= idsLeft else { throw PerfDataError.corrupt("the attrs' id arrays overlap") }
                idsLeft -= raw.count / 8
                for i in stride(from: 0, to: raw.count - 7, by: 8) { ids.append(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) }
            }
            events.append(EventDescription(attr: attr, ids: ids, name: EventNames.name(for: attr)))
        }
        guard !events.isEmpty else { throw PerfDataError.corrupt("the file has no event attrs") }
        return events
    }

    /// The bytes between the attr section and the data, where Ember's `EventNamesBlock` and `TargetBlock` stand.
    private static func gap(header: FileHeader, file: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        let start = header.attrs.offset.addingReportingOverflow(header.attrs.size)
        guard !start.overflow, start.partialValue < header.data.offset, header.data.offset <= UInt64(file.count) else { return nil }
        return UnsafeRawBufferPointer(rebasing: file[Int(start.partialValue)..<Int(header.data.offset)])
    }

    /// Takes event names from HEADER_EVENT_DESC, matching entries by their ids.
    private static func applyEventDescriptions(_ b: UnsafeRawBufferPointer, to events: inout [EventDescription]) {
        guard let nr = b.u32(0), let attrSize = b.u32(4), nr < 4096 else { return }
        var o = 8
        for index in 0..<Int(nr) {
            o += Int(attrSize)
            guard o <= b.count, let nrIDs = b.u32(o), let nameLength = b.u32(o + 4),
                  Int(nameLength) <= b.count - o, Int(nrIDs) <= (b.count - o) / 8 else { return }
            let name = b.cString(o + 8)
            o += 8 + Int(nameLength)
            var ids: [UInt64] = []
            for i in 0..<Int(nrIDs) { if let id = b.u64(o + i * 8) { ids.append(id) } }
            o += Int(nrIDs) * 8
            if let match = events.firstIndex(where: { !ids.isEmpty && $0.ids.contains(ids[0]) }) {
                events[match].name = name
            } else if index < events.count {
                events[index].name = name
            }
        }
    }
}
