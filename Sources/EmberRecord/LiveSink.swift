import EmberKernel
import EmberPerfData

/// A recording read as it happens (`ember top`): nothing is written; at each wake-up every ring is drained into
/// `LiveRecords`, and every `interval` seconds (and at the end) a round is ended and handed to the reader, on the
/// recording's thread. The processes that existed before come first, as a file's synthesized records do. A
/// `RecordOptions.control` stops it from another thread (`top`'s q).
final class LiveSink: RecordSink {
    var samples: Bool { true }
    var readsSnapshotSignal: Bool { false }
    private let interval: Double
    private let read: (LiveRecords) -> Void
    private var events: RecordingSession.SampleEvents!
    private var records: LiveRecords!
    private var nextRead = 0.0

    init(interval: Double, read: @escaping (LiveRecords) -> Void) {
        self.interval = interval
        self.read = read
    }

    func open(_ session: RecordingSession, _ resolved: [ResolvedEvent]) throws -> SinkWakers {
        events = try session.openSampleEvents(resolved)
        records = LiveRecords(events: events.described)
        try session.synthesize(encoder: events.encoder) { bytes in bytes.withUnsafeBytes { records.append($0) } }
        return SinkWakers(rings: events.rings, fds: session.options.control.map { [$0.fd] } ?? [])
    }

    func ready(_ session: RecordingSession) throws {
        session.options.control?.began()
    }

    func abandon(_ session: RecordingSession, _ failure: RecordError) {
        session.options.control?.finish(failure: failure)
    }

    func began(_ session: RecordingSession) {
        nextRead = monotonicSeconds() + interval
    }

    func wakeInterval(_ session: RecordingSession) -> Int? {
        max(0, Int((nextRead - monotonicSeconds()) * 1000))
    }

    func wake(_ session: RecordingSession, snapshotAsked: Bool, ending: StopReason?) -> StopReason? {
        drain(session)
        if ending == nil, let control = session.options.control, control.take().stop { return .requested }
        if ending == nil, monotonicSeconds() >= nextRead {
            nextRead += interval
            records.endRound()
            read(records)
        }
        return nil
    }

    func stop(_ session: RecordingSession, reason: StopReason) {
        drain(session)
        records.finish()
        read(records)
        session.options.control?.finish()
    }

    private func drain(_ session: RecordingSession) {
        for ring in events.rings {
            ring.drain { record in
                _ = session.tally(record)
                records.append(record)
            }
        }
    }
}
