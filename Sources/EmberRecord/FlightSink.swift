import EmberKernel
import EmberPerfData

/// The flight recorder (`ember record --overwrite`): the samples stay in the kernel's overwrite rings, which keep
/// the newest and never stop the traced system; the recorder reads only the small side-band ring of process
/// records, sleeps otherwise, and on SIGUSR2, a trigger, a `FlightControl` request (and at the end) writes what
/// the rings hold to a snapshot file of its own.
final class FlightSink: RecordSink {
    var samples: Bool { true }
    var readsSnapshotSignal: Bool { true }
    /// What every snapshot says of the processes: their names and mappings, from the side-band ring.
    private let store = SideBand()
    /// The overwrite rings, and the side-band group with its normal rings.
    private var events: RecordingSession.SampleEvents!
    private var sideBand: EventGroup!
    private var trigger: SnapshotTrigger?
    private var slowCalls: SlowCallTrigger?
    /// The snapshots written under names of their own (not a control's), oldest first.
    private var files = WrittenFiles()
    /// Where each ring's history is copied; kept between snapshots.
    private var scratch: [UInt8] = []
    /// A snapshot held less than `--history` asked, and the recording said so.
    private var warnedShortHistory = false
    /// Swift async chains taken with the samples (when they carry the user registers to be found by), kept for
    /// the snapshots within the rings' size.
    private var beside: SideCapture?

    /// Opens the sample events writing backward into overwrite rings, and a dummy event on the same targets for
    /// the process records, into normal rings.
    func open(_ session: RecordingSession, _ resolved: [ResolvedEvent]) throws -> SinkWakers {
        events = try session.openSampleEvents(resolved)
        if session.options.takesAsyncChains {
            beside = SideCapture(events, tails: false, chains: true, keepBytes: events.rings.reduce(0) { $0 + $1.dataSize })
        }
        let dummy = ResolvedEvent(name: EventSpec.dummy.name, attr: EventAttr(type: .software, config: EventSpec.dummy.config))
        sideBand = try session.openEvents([dummy], role: .sideBand)[0]
        try sideBand.mapRings(pages: RecordingSession.sideBandPages)
        try session.synthesize(encoder: events.encoder) { bytes in bytes.withUnsafeBytes { store.apply($0) } }
        trigger = try session.openTrigger()
        slowCalls = try session.openSlowCallTrigger()
        let triggers = (trigger.map { [$0.group] } ?? []) + (slowCalls?.groups ?? [])
        return SinkWakers(rings: sideBand.rings + triggers.flatMap(\.rings), fds: session.options.control.map { [$0.fd] } ?? [])
    }

    func ready(_ session: RecordingSession) throws {
        session.options.control?.began()
    }

    func abandon(_ session: RecordingSession, _ failure: RecordError) {
        session.options.control?.finish(failure: failure)
    }

    /// Nothing to do until a signal, the side-band ring's watermark, a control's request or the command's end
    /// (SIGCHLD); with async chains, every 250 ms too, to take them in before their BPF ring fills.
    func wakeInterval(_ session: RecordingSession) -> Int? { beside == nil ? nil : 250 }

    func wake(_ session: RecordingSession, snapshotAsked: Bool, ending: StopReason?) -> StopReason? {
        let options = session.options
        drainSideBand(session)
        beside?.beginDrain()
        var asked = snapshotAsked
        if let trigger, trigger.fired(minimumInterval: options.snapshotMinInterval) { asked = true }
        if let call = slowCalls?.slowCall(minimumInterval: options.snapshotMinInterval) {
            writeSnapshot(session, reason: "after a \(call.milliseconds) ms call of \(slowCalls?.symbol ?? "") in thread \(call.tid)")
            asked = false
        }
        if asked { writeSnapshot(session) }
        if let control = options.control {
            let (requests, stop) = control.take()
            for request in requests {
                request.done(Result { try writeSnapshot(session, to: request.path).snapshot }.mapError { RecordError(wrapping: $0) })
            }
            if stop { return .requested }
        }
        return nil
    }

    func stop(_ session: RecordingSession, reason: StopReason) {
        if let note = reason.note { session.summary.notes.append(note) }
        if let note = trigger?.limit.note("hit", "hits", of: "the snapshot event") { session.summary.notes.append(note) }
        if let slowCalls, let note = slowCalls.limit.note("slow call", "slow calls", of: slowCalls.symbol) { session.summary.notes.append(note) }
        drainSideBand(session)
        if session.options.finalSnapshot { writeSnapshot(session) }
        if let summary = beside?.summary(session) { session.summary.notes.append(summary) }
    }

    func finish(_ session: RecordingSession) {
        session.options.control?.finish()
    }

    /// Applies what the side-band rings hold now in time order: a process's records can sit in several rings (its
    /// fork on one CPU, its exec on another), and a fork applied after the exec would give the child its parent's
    /// name and mappings back. (A record that reaches its ring after that ring was drained still waits for the
    /// next drain; the wake-ups of a starting process come far apart enough that this has not been seen.)
    private func drainSideBand(_ session: RecordingSession) {
        let timeFromEnd = SampleLayout(attr: sideBand.attr).trailerTimeFromEnd ?? 0
        var pending: [(time: UInt64, order: Int, bytes: [UInt8])] = []
        for ring in sideBand.rings {
            ring.drain { record in
                let time = timeFromEnd > 0 && record.count >= timeFromEnd ? record.loadUnaligned(fromByteOffset: record.count - timeFromEnd, as: UInt64.self) : 0
                pending.append((time, pending.count, Array(record)))
            }
        }
        pending.sort { ($0.time, $0.order) < ($1.time, $1.order) }
        for entry in pending {
            entry.bytes.withUnsafeBytes { record in
                store.apply(record)
                _ = session.tally(record)
            }
        }
    }

    /// Writes what the overwrite rings hold to `OUTPUT.<timestamp>`, and says so in one line. A failed write (a
    /// full disk) leaves no file, says so, and recording goes on.
    private func writeSnapshot(_ session: RecordingSession, reason: String? = nil) {
        let options = session.options
        let path = session.nextFileName(after: files.paths.last)
        do {
            let written = try writeSnapshot(session, to: path)
            let seconds = written.seconds
            session.say(.note("record: snapshot \(path): \(written.snapshot.samples) samples, \(formatSeconds(seconds)) s of history\(reason.map { ", " + $0 } ?? "")"))
            if let asked = options.history, written.wrapped, seconds < asked * 0.95, !warnedShortHistory {
                warnedShortHistory = true
                session.say(.warning("snapshot \(path) held \(formatSeconds(seconds)) s of history, less than the \(formatSeconds(asked)) s --history asked: events came faster than the rings were sized for; a larger -m keeps more"))
            }
            files.append(path, written.identity)
            session.summary.samples += written.snapshot.samples
            if let keep = options.switchMaxFiles { files.deleteOldest(keeping: keep) }
            session.summary.snapshots = files.paths
        } catch {
            // The recording goes on; the command's exit status will say that a snapshot was lost.
            session.summary.writeFailed = true
            session.say(.warning("snapshot \(path) was not written (\(error)); recording goes on"))
        }
    }

    /// Writes what the overwrite rings hold to `path`, with the processes it has samples of; the file takes its name
    /// only once complete, and a failed write leaves nothing. Also says how many seconds of history it holds (from
    /// the newest ring's oldest sample when a ring had wrapped, since that is where every CPU has samples) and
    /// whether a ring had wrapped.
    private func writeSnapshot(_ session: RecordingSession, to path: String) throws
        -> (snapshot: FlightControl.Snapshot, seconds: Double, wrapped: Bool, identity: FileIdentity?) {
        var histories: [[UInt8]] = []
        var newest: UInt64 = 0, oldest: UInt64 = 0, oldestWrapped: UInt64 = 0
        var sampled = Set<Int32>()
        for ring in events.rings {
            let copy = ring.snapshot(into: &scratch)
            guard copy.records > 0 else { continue }
            var first: UInt64?
            FlightSink.forEachRecord(in: scratch) { record in
                guard let s = FlightSink.sampleHeader(record) else { return }
                sampled.insert(s.pid)
                if first == nil { first = s.time }
                newest = max(newest, s.time)
            }
            if let first {
                oldest = oldest == 0 ? first : min(oldest, first)
                if copy.wrapped { oldestWrapped = max(oldestWrapped, first) }
            }
            histories.append(scratch)
        }
        let writer = try PerfDataWriter(path: path, placement: .newNameWhenFinished)
        do {
            try session.beginFile(writer, events: events) { append in
                for record in store.records(sampled: sampled, encoder: events.encoder) { try append(record) }
            }
            beside?.beginDrain()
            for history in histories {
                try FlightSink.forEachRecord(in: history) { record in
                    let offset = writer.nextRecordOffset
                    try writer.append(record)
                    beside?.note(record, offset: offset, writer: writer)
                }
            }
            try writer.appendFinishedRound()
            try session.finishFile(writer)
        } catch {
            writer.abandon()
            throw error
        }
        let seconds = newest > 0 ? Double(newest &- (oldestWrapped > 0 ? oldestWrapped : oldest)) / 1e9 : 0
        return (FlightControl.Snapshot(path: path, samples: writer.writtenSamples, newestTime: newest), seconds, oldestWrapped > 0,
                writer.identity)
    }

    /// The identifier, pid, tid and time of a sample as Ember's events lay it out (identifier, ip, pid/tid, time
    /// first); nil for any other record.
    static func sampleHeader(_ record: UnsafeRawBufferPointer) -> (id: UInt64, pid: Int32, tid: Int32, time: UInt64)? {
        guard record.count >= 40, record.loadUnaligned(fromByteOffset: 0, as: UInt32.self) == RecordType.sample.rawValue else { return nil }
        return (record.loadUnaligned(fromByteOffset: 8, as: UInt64.self), record.loadUnaligned(fromByteOffset: 24, as: Int32.self),
                record.loadUnaligned(fromByteOffset: 28, as: Int32.self), record.loadUnaligned(fromByteOffset: 32, as: UInt64.self))
    }

    /// Each record of a ring's copied history, whole.
    static func forEachRecord(in records: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        try records.withUnsafeBytes { bytes in
            var offset = 0
            while offset + 8 <= bytes.count {
                let size = Int(bytes.loadUnaligned(fromByteOffset: offset + 6, as: UInt16.self))
                guard size >= 8, offset + size <= bytes.count else { return }
                try body(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + size)]))
                offset += size
            }
        }
    }
}
