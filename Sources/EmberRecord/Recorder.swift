/// `ember record`: records into a perf.data file until the command exits, the duration passes, or SIGINT/SIGTERM/
/// SIGHUP arrives, and always leaves a file that Ember and perf can read; with `overwrite`, a flight recording
/// that writes snapshots. A `RecordingSession` with a `FileSink` or a `FlightSink`.
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
}
