#if canImport(Glibc)
import Glibc
#endif

/// Why a recording ended.
public enum StopReason: Equatable, Sendable {
    /// The command it ran exited.
    case commandExited
    /// `--duration` passed.
    case durationElapsed
    /// Every process of `-p` is gone.
    case processesExited
    /// SIGINT, SIGTERM or SIGHUP.
    case signal(Int32)
    /// The sink asked: a `FlightControl`'s stop, or `stat`'s last interval.
    case requested
    /// Writing failed (a full disk): recording stopped, and the file keeps what came before.
    case writeFailed

    /// What a recording says about this end, or nil for an ordinary one.
    public var note: String? {
        guard case .signal(let s) = self else { return nil }
        switch s {
        case SIGINT: return "interrupted (SIGINT); the recording was saved"
        case SIGTERM: return "terminated (SIGTERM); the recording was saved"
        default: return "hung up (SIGHUP); the recording was saved"
        }
    }
}

/// What a recording says while it runs. Library code never prints: each message goes to `RecordOptions.messages`,
/// which the CLI prints to standard error and `EmberProfiler` and the agent route to their own logs.
public enum RecordMessage: Sendable, Equatable {
    /// Something failed that the recording survives (a snapshot not written, a file not started).
    case warning(String)
    /// A line the user asked for, said as it happens (`record: snapshot FILE: ...`).
    case note(String)
    /// The progress line (only with `RecordOptions.progress`): seconds so far, samples and lost events.
    case progress(seconds: Int, samples: UInt64, lost: UInt64)
    /// The progress line is done: wipe it.
    case progressEnd
}
