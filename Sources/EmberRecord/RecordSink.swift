import EmberKernel

/// Where a recording's events go: the perf.data writer (`FileSink`, with `--switch-output` rotation), the flight
/// recorder's overwrite rings and snapshots (`FlightSink`), or exact counts (`Counter`). A `RecordingSession` runs
/// the lifecycle and calls the sink at each step; the sink opens its events through the session, so that every
/// target kind is opened in one place.
protocol RecordSink: AnyObject {
    /// The sink samples (so that the kernel's sample-rate limit applies to it).
    var samples: Bool { get }
    /// SIGUSR2 asks the sink for a snapshot (or the next file).
    var readsSnapshotSignal: Bool { get }

    /// Before any event is opened: create the output, so that a bad path fails first.
    func prepare(_ session: RecordingSession) throws
    /// Opens the sink's events through the session; what the session sleeps on.
    func open(_ session: RecordingSession, _ resolved: [ResolvedEvent]) throws -> SinkWakers
    /// Everything is open (and enabled, but for a command's events, which its exec enables): put the output in place.
    func ready(_ session: RecordingSession) throws
    /// Setting up failed: remove what `prepare` created, tell whoever waits.
    func abandon(_ session: RecordingSession, _ failure: RecordError)
    /// `-D`: just before the delayed events are enabled.
    func enabling(_ session: RecordingSession)
    /// The command runs and the events record (after `-D`): the loop begins.
    func began(_ session: RecordingSession)
    /// How long the session may sleep before the sink must run again (milliseconds), or nil: until something wakes it.
    func wakeInterval(_ session: RecordingSession) -> Int?
    /// After each wake-up: take what arrived. `snapshotAsked`: SIGUSR2 came; `ending`: the session is about to stop
    /// for this reason. Returns a reason for the sink to stop the recording (one that wins over `ending`).
    func wake(_ session: RecordingSession, snapshotAsked: Bool, ending: StopReason?) -> StopReason?
    /// The events are disabled: take what is left (the final drain, the final snapshot).
    func stop(_ session: RecordingSession, reason: StopReason)
    /// The command has exited (its status is in the summary): finish the output.
    func finish(_ session: RecordingSession)
}

extension RecordSink {
    func prepare(_ session: RecordingSession) throws {}
    func ready(_ session: RecordingSession) throws {}
    func abandon(_ session: RecordingSession, _ failure: RecordError) {}
    func enabling(_ session: RecordingSession) {}
    func began(_ session: RecordingSession) {}
    func stop(_ session: RecordingSession, reason: StopReason) {}
    func finish(_ session: RecordingSession) {}
}

/// What a recording sleeps on besides its signals: rings that wake it at their watermark, and other fds (a
/// `FlightControl`'s eventfd).
struct SinkWakers {
    var rings: [RingBuffer]
    var fds: [Int32] = []
}
