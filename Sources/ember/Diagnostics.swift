import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// One-line messages on standard error, and the exit that follows a failure.
enum Diagnostics {
    static func warning(_ message: String) {
        fputs("ember: warning: \(message)\n", stderr)
    }

    static func note(_ message: String) {
        // "ember record: ..." reads better than "ember: record: ..." (and so for latency's own line).
        let separator = message.hasPrefix("record:") || message.hasPrefix("latency:") ? " " : ": "
        fputs("ember\(separator)\(message)\n", stderr)
    }

    /// Prints `ember: error: message` and ends the command with `status`.
    static func fail(_ message: String, status: Int32 = 1) -> ExitCode {
        fputs("ember: error: \(message)\n", stderr)
        return ExitCode(status)
    }
}
