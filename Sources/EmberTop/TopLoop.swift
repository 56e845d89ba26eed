import CEmberShim
import EmberAnnotate
import EmberRecord
#if canImport(Glibc)
import Glibc
#endif

/// Runs `ember top`: the recording on its thread (`TopSession`), and on this one either the terminal UI or, when
/// standard output is not a terminal, a `--stdio` snapshot printed at each refresh. SIGINT, SIGTERM and SIGHUP
/// end it (read through a signalfd, so the terminal is always put back); SIGWINCH redraws at the new size.
public enum TopLoop {
    /// Returns the recording's summary, or its failure; `print` writes the `--stdio` snapshots.
    public static func run(_ session: TopSession, screen: TopScreen, terminal: Terminal?, syntax: AssemblySyntax, limit: Int,
                           print: (String) -> Void) -> Result<RecordSummary, RecordError> {
        var screen = screen
        // Before the recording's thread starts, so that it inherits the mask and the signals come here.
        let signals = ember_terminal_signalfd()
        let epoll = ember_epoll_create()
        defer {
            if signals >= 0 { close(signals) }
            if epoll >= 0 { close(epoll) }
        }
        for fd in [session.wakeFD, signals] + (terminal == nil ? [] : [0]) where fd >= 0 { _ = ember_epoll_add(epoll, fd) }
        session.start()
        terminal?.enter()
        defer { terminal?.leave() }
        var stopping = false
        var fds = [Int32](repeating: 0, count: 8), events = [UInt32](repeating: 0, count: 8)
        func redraw() {
            guard let terminal else { return }
            let size = terminal.size
            terminal.write(screen.render(rows: size.rows, columns: size.columns))
        }
        redraw()
        while true {
            let n = ember_epoll_wait(epoll, &fds, &events, 8, stopping ? 100 : 1000)
            if let ended = session.ended {
                if terminal == nil, let snapshot = session.takeSnapshot() {
                    screen.snapshot = snapshot
                    print(screen.text(limit: limit))
                }
                return ended
            }
            var dirty = false
            for i in 0..<max(0, Int(n)) {
                switch fds[i] {
                case signals:
                    while true {
                        let signal = ember_signalfd_next(signals)
                        if signal == 0 { break }
                        if signal == SIGWINCH { dirty = true } else { stopping = true }
                    }
                case session.wakeFD:
                    session.acknowledge()
                    if let snapshot = session.takeSnapshot() {
                        screen.snapshot = snapshot
                        if terminal == nil { print(screen.text(limit: limit)) }
                        dirty = true
                    }
                    if let annotation = session.takeAnnotation() {
                        screen.show(annotation)
                        dirty = true
                    }
                default:
                    guard let terminal else { break }
                    for key in terminal.readKeys() {
                        switch screen.handle(key, rows: terminal.size.rows) {
                        case .quit: stopping = true
                        case .annotate(let function): session.annotate(function: function, syntax: syntax)
                        case .none: break
                        }
                    }
                    session.zeroes = screen.zeroes
                    dirty = true
                }
            }
            if stopping { session.stop() }
            if dirty { redraw() }
        }
    }
}
