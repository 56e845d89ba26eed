import EmberPerfData

/// `ember record`: records into a perf.data file until the command exits, the duration passes, or SIGINT/SIGTERM/
/// SIGHUP arrives, and always leaves a file that Ember and perf can read; with `overwrite`, a flight recording
/// that writes snapshots; or streamed to a reader (`ember top`). A `RecordingSession` with a `FileSink`, a
/// `FlightSink` or a `LiveSink`.
public final class Recorder {
    public let options: RecordOptions

    public init(options: RecordOptions) {
        self.options = options
    }

    public func run() throws -> RecordSummary {
        let session = RecordingSession(options: options)
        try session.run(options.overwrite ? FlightSink() : FileSink(options: options))
        return session.summary
    }

    /// Records without writing: every `interval` seconds, and once more at the end, hands `read` the records that
    /// arrived (for `Replay(live:)`), until the recording stops as `run`'s would.
    public func stream(every interval: Double, _ read: @escaping (LiveRecords) -> Void) throws -> RecordSummary {
        let session = RecordingSession(options: options)
        try session.run(LiveSink(interval: interval, read: read))
        return session.summary
    }
}
