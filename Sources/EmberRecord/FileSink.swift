import EmberKernel
import EmberPerfData

/// `ember record` into a perf.data file (or a pipe stream): every ring drained into the writer at each wake-up, a
/// round flushed at a time so that a recorder killed outright loses at most one. With `--switch-output`, into
/// `OUTPUT.<timestamp>` files, the current one finished and the next begun at each boundary (a size, a time,
/// SIGUSR2 or `--switch-output-event`) between two drains, so that no sample falls in between.
final class FileSink: RecordSink {
    let readsSnapshotSignal: Bool
    var samples: Bool { true }
    /// The file being written (with `--switch-output`, the newest).
    private var writer: PerfDataWriter!
    private var events: RecordingSession.SampleEvents!
    private var rotation: Rotation?
    private var trigger: SnapshotTrigger?
    /// With frame-pointer call chains: the layout to read them, and how many had at most two user frames.
    private var framePointerLayout: SampleLayout?
    private var shortUserStacks: UInt64 = 0
    private var lastProgress: Double?
    /// With leaf repair into a file: per sample id, the layout of its event's ring records, whose REGS_USER and
    /// STACK_USER parts go beside the samples (`SampleSideData`), so that perf sees plain frame-pointer samples.
    private var sideLayouts: [UInt64: SampleLayout] = [:]
    private var sideRegsMask: UInt64 = 0
    private var sample = Sample()
    /// With DWARF call chains into a file: what keeps beside the samples the rest of deep stacks and async chains.
    private var beside: SideCapture?

    init(options: RecordOptions) {
        readsSnapshotSignal = options.switchOutput == .signal
    }

    func prepare(_ session: RecordingSession) throws {
        let options = session.options
        do {
            writer = options.switchOutput == nil ? try PerfDataWriter(path: options.output)
                : try PerfDataWriter(path: session.nextFileName(after: nil), placement: .newName)
        } catch {
            throw RecordError.output("\(error)")
        }
    }

    func open(_ session: RecordingSession, _ resolved: [ResolvedEvent]) throws -> SinkWakers {
        var events = try session.openSampleEvents(resolved)
        // What the samples cannot carry goes beside them in a file: with DWARF stacks, the stacks' tails and async
        // chains; with frame pointers whose leaves are repaired (whose samples carry the user registers), chains.
        let intoFile = session.options.output != "-"
        switch session.options.callGraph {
        case .dwarf where intoFile && (session.options.readsStackTails || session.options.takesAsyncChains):
            beside = SideCapture(events, tails: session.options.readsStackTails, chains: session.options.takesAsyncChains)
        case .framePointer where intoFile && session.options.repairsLeaves:
            if session.options.takesAsyncChains { beside = SideCapture(events, tails: false, chains: true) }
            events = keepingUserPartsBeside(events)
        default:
            break
        }
        self.events = events
        let store = session.options.switchOutput.map { _ in SideBand() }
        try session.beginFile(writer, events: events) { append in
            try session.synthesize(encoder: events.encoder) { record in
                try append(record)
                record.withUnsafeBytes { store?.apply($0) }
            }
        }
        if let store { rotation = Rotation(file: writer, store: store) }
        trigger = try session.openTrigger()
        if session.options.callGraph == .framePointer, events.groups.count == 1 { framePointerLayout = SampleLayout(attr: events.groups[0].attr) }
        return SinkWakers(rings: events.rings + (trigger?.group.rings ?? []))
    }

    /// The events as the file describes them: those that copy user registers and stack for leaf repair without
    /// them, their ring records' layouts kept for cutting the parts out.
    private func keepingUserPartsBeside(_ events: RecordingSession.SampleEvents) -> RecordingSession.SampleEvents {
        let described = events.described.map { e -> EventDescription in
            guard e.attr.sampleType.isSuperset(of: [.regsUser, .stackUser]) else { return e }
            for id in e.ids { sideLayouts[id] = e.layout }
            sideRegsMask = e.attr.sampleRegsUser
            var attr = e.attr
            attr.sampleType.subtract([.regsUser, .stackUser])
            attr.sampleRegsUser = 0
            attr.sampleStackUser = 0
            return EventDescription(attr: attr, ids: e.ids, name: e.name)
        }
        return RecordingSession.SampleEvents(groups: events.groups, described: described, encoder: events.encoder)
    }

    /// In place once everything is set up (an earlier failure leaves FILE and FILE.old as they were) and before the
    /// workload runs: from here on a killed recorder leaves a readable file.
    func ready(_ session: RecordingSession) throws {
        try writer.flush()
    }

    func abandon(_ session: RecordingSession, _ failure: RecordError) {
        writer?.abandon()
    }

    /// The command's exec went by with the events off: describe it as -p would.
    func enabling(_ session: RecordingSession) {
        guard let pid = session.workload?.pid else { return }
        try? session.synthesize(encoder: events.encoder, only: [pid]) { record in
            try writer.append(record)
            record.withUnsafeBytes { rotation?.store.apply($0) }
        }
        try? writer.appendFinishedRound()
    }

    func wakeInterval(_ session: RecordingSession) -> Int? { 100 }

    func wake(_ session: RecordingSession, snapshotAsked: Bool, ending: StopReason?) -> StopReason? {
        if let rotation, rotation.failed {
            dropAll()
        } else if let error = drainAll(session) {
            guard let rotation else {
                session.summary.notes.append("\(error); recording stopped, and the file keeps what was recorded until then")
                return .writeFailed
            }
            // With --switch-output a full disk costs this file's samples until the next one, not the recording.
            rotation.failed = true
            session.summary.writeFailed = true
            session.say(.warning("\(error); \(rotation.files.paths.last ?? "the file") keeps what was written, and samples are dropped until the next file starts"))
        }
        if snapshotAsked { rotation?.signalled = true }
        if let trigger, trigger.fired(minimumInterval: session.options.snapshotMinInterval) { rotation?.signalled = true }
        if let rotation, ending == nil, isDue(session, rotation), let next = rotate(session, rotation) {
            writer = next
        }
        if ending == nil, session.options.progress {
            let now = monotonicSeconds()
            if now - (lastProgress ?? session.start) >= 1 {
                lastProgress = now
                session.say(.progress(seconds: Int(now - session.start), samples: session.summary.samples, lost: session.summary.lost))
            }
        }
        return nil
    }

    func stop(_ session: RecordingSession, reason: StopReason) {
        if let note = reason.note { session.summary.notes.append(note) }
        if reason == .writeFailed {
            session.summary.writeFailed = true
            // What the rings still hold can no longer reach the file: count its samples as dropped.
            dropAll()
        } else if rotation?.failed == true {
            dropAll()
        } else if let error = drainAll(session) {
            session.summary.notes.append("\(error); the file keeps what was recorded until then")
            session.summary.writeFailed = true
        }
        if session.options.progress { session.say(.progressEnd) }
    }

    func finish(_ session: RecordingSession) {
        let samples = session.summary.samples
        if framePointerLayout != nil, samples >= 20, shortUserStacks * 2 > samples {
            session.summary.notes.append("hint: \(shortUserStacks) of \(samples) samples have at most two user frames, so the code probably has no frame pointers; --call-graph dwarf unwinds it")
        }
        if let full = events.rings.first(where: \.fellBehind) {
            session.summary.notes.append("the reader fell a whole ring (\(full.dataSize >> 10) KiB) behind at least once; the kernel lost what did not fit")
        }
        let dropped = events.rings.reduce(0) { $0 + $1.droppedBytes }
        if dropped > 0 {
            session.summary.notes.append("\(dropped) bytes of ring buffer held a corrupt record header and were dropped")
        }
        if let summary = beside?.summary(session) { session.summary.notes.append(summary) }
        finishFile(session)
    }

    /// Finishes the current file and puts its counts, with those of the files before it, into the summary.
    private func finishFile(_ session: RecordingSession) {
        do {
            try session.finishFile(writer)
        } catch {
            session.summary.notes.append("\(error); the file may lack its feature sections, but its records are readable")
            session.summary.writeFailed = true
        }
        if writer.sideEntriesLost > 0 {
            session.summary.notes.append(session.options.callGraph == .framePointer
                ? "\(writer.sideEntriesLost) samples of \(writer.path) were written without their leaf-repair copies (writing the copies failed); they read unrepaired"
                : "\(writer.sideEntriesLost) stack tails and async chains of \(writer.path) could not be written (a full disk); their samples read without them")
        }
        rotation?.files.finishedLast(writer.identity)
        let earlier = rotation?.finished ?? (samples: 0, dropped: 0, bytes: 0)
        session.summary.samples = earlier.samples + writer.writtenSamples
        session.summary.dropped = earlier.dropped + writer.droppedSamples
        session.summary.bytes = earlier.bytes + writer.fileBytes
        session.summary.replacedOld = writer.replacedOld
        if let rotation { session.summary.snapshots = rotation.files.paths }
    }

    // MARK: Draining

    /// Drains every ring into the writer; the error when writing failed (a full disk).
    private func drainAll(_ session: RecordingSession) -> Error? {
        var wrote = false
        do {
            beside?.beginDrain()
            for ring in events.rings {
                let n = try ring.drain { record in
                    let offset = writer.nextRecordOffset
                    if let moved = account(record, session) {
                        try writer.append(record, movingToSide: moved, regsMask: sideRegsMask)
                    } else {
                        try writer.append(record)
                    }
                    beside?.note(record, offset: offset, writer: writer)
                }
                if n > 0 { wrote = true }
            }
            if wrote {
                beside?.endDrain(into: writer)
                try writer.appendFinishedRound()
                // Hand the round to the kernel now, so that a recorder killed outright loses at most one round.
                try writer.flush()
            }
            return nil
        } catch {
            beside?.discard()
            return error
        }
    }

    /// Empties the rings when their records can no longer reach a file, counting the samples as dropped.
    private func dropAll() {
        for ring in events.rings { ring.drain { writer.countDropped($0) } }
    }

    /// Counts what the drained records say, keeps the process records for the next file, and returns the part of
    /// a sample that goes beside it (its REGS_USER and STACK_USER, with leaf repair into a file). Each sample is
    /// parsed once, for both.
    @inline(__always)
    private func account(_ record: UnsafeRawBufferPointer, _ session: RecordingSession) -> Range<Int>? {
        switch session.tally(record) {
        case .sample:
            // Samples start with their id (PERF_SAMPLE_IDENTIFIER).
            let side = sideLayouts.isEmpty || record.count < 16 ? nil : sideLayouts[record.loadUnaligned(fromByteOffset: 8, as: UInt64.self)]
            guard let layout = side ?? framePointerLayout, sample.load(record: record, layout: layout) else { return nil }
            if framePointerLayout != nil, FileSink.userFrames(sample) <= 2 { shortUserStacks += 1 }
            return side == nil ? nil : sample.userPart
        case .comm, .mmap, .mmap2, .fork, .exit:
            rotation?.store.apply(record)
        default:
            break
        }
        return nil
    }

    /// The user entries of a frame-pointer call chain (those after PERF_CONTEXT_USER).
    private static func userFrames(_ sample: Sample) -> Int {
        var count = 0, inUser = sample.cpuMode == .user && sample.callchainCount > 0
        for i in 0..<sample.callchainCount {
            let entry = sample.callchainEntry(i)
            if entry >= CallchainContext.max {
                inUser = entry == CallchainContext.user
            } else if inUser {
                count += 1
            }
        }
        return count
    }

    // MARK: --switch-output

    /// Whether the current file has reached its boundary, or SIGUSR2 or the snapshot event asked for the next. A
    /// file that failed (a full disk) tries for the next each second by size.
    private func isDue(_ session: RecordingSession, _ rotation: Rotation) -> Bool {
        if rotation.signalled { return true }
        switch session.options.switchOutput {
        case .signal: return false
        case .size(let bytes): return writer.dataBytes >= bytes || (rotation.failed && monotonicSeconds() - rotation.started >= 1)
        case .time(let seconds): return monotonicSeconds() - rotation.started >= seconds
        case nil: return false
        }
    }

    /// Begins the next file, then finishes the current one; nil when the next cannot be begun (a full disk): the
    /// current file then goes on (or goes on dropping, when it failed too) until the next boundary tries again.
    /// With `--switch-max-files` the oldest files are deleted first, to make room.
    private func rotate(_ session: RecordingSession, _ rotation: Rotation) -> PerfDataWriter? {
        rotation.signalled = false
        rotation.started = monotonicSeconds()
        let keep = session.options.switchMaxFiles
        if let keep { rotation.files.deleteOldest(keeping: max(keep - 1, 1)) }
        let path = session.nextFileName(after: rotation.files.paths.last)
        let next: PerfDataWriter
        do {
            next = try PerfDataWriter(path: path, placement: .newName)
            do {
                try session.beginFile(next, events: events) { append in
                    for record in rotation.store.records(sampled: [], encoder: events.encoder) { try append(record) }
                }
                try next.flush()
            } catch {
                next.abandon()
                throw error
            }
        } catch {
            session.summary.writeFailed = true
            session.say(.warning("the next file could not be started (\(error)); trying again at the next switch"))
            return nil
        }
        finishFile(session)
        rotation.finished = (session.summary.samples, session.summary.dropped, session.summary.bytes)
        rotation.failed = false
        rotation.files.append(path, next.identity)
        if let keep { rotation.files.deleteOldest(keeping: keep) }
        return next
    }
}

/// A `--switch-output` recording's files and what each next one begins with: the processes alive at the switch,
/// from the side-band records seen so far, so that each file is complete on its own.
final class Rotation {
    let store: SideBand
    /// The files written, oldest first (with `--switch-max-files`, the kept ones), the current one last.
    var files = WrittenFiles()
    /// When the current file was begun (monotonic seconds).
    var started = monotonicSeconds()
    /// SIGUSR2 or the snapshot event asked for the next file.
    var signalled = false
    /// Writing the current file failed (a full disk): its samples are dropped until the next file begins.
    var failed = false
    /// Totals of the finished files.
    var finished: (samples: UInt64, dropped: UInt64, bytes: UInt64) = (0, 0, 0)

    init(file: PerfDataWriter, store: SideBand) {
        files.append(file.path, file.identity)
        self.store = store
    }
}
