import EmberKernel
#if canImport(Glibc)
import Glibc
#endif

/// The progress of a long reading, on a terminal only: once it has taken a second (`EMBER_PROGRESS_AFTER`
/// seconds, for tests), `ember: reading FILE [#####.....] 42%` on standard error, redrawn in place at most ten
/// times a second and wiped when the reading ends. Nothing when standard error is not a terminal.
final class ProgressBar {
    private let label: String
    private let start = monotonicSeconds()
    private let delay: Double
    private var lastDraw = 0.0
    private var shown = false

    /// Nil when standard error is not a terminal.
    init?(label: String) {
        guard isatty(2) == 1 else { return nil }
        self.label = label
        delay = getenv("EMBER_PROGRESS_AFTER").flatMap { Double(String(cString: $0)) } ?? 1
    }

    func update(done: Int, total: Int) {
        guard done < total, total > 0 else {
            if shown { fputs("\r\u{1b}[K", stderr) }
            shown = false
            return
        }
        let now = monotonicSeconds()
        guard now - start >= delay, now - lastDraw >= 0.1 else { return }
        lastDraw = now
        shown = true
        let width = 30
        let filled = min(width, done * width / total)
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        fputs("\rember: reading \(label) [\(bar)] \(done * 100 / total)%\u{1b}[K", stderr)
    }
}
