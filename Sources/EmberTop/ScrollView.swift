import CEmberShim
#if canImport(Glibc)
import Glibc
#endif

/// Lines to scroll through with one selected: an annotation, opened from `top` (Enter) or by `annotate --tui`.
public struct ScrollView {
    public let lines: [String]
    public private(set) var top: Int
    public private(set) var selected: Int

    /// Opens on `selected`, a few lines below the top.
    public init(lines: [String], selected: Int) {
        self.lines = lines.map(\.replacingTabs)
        self.selected = max(0, min(selected, lines.count - 1))
        top = max(0, self.selected - 5)
    }

    /// Moves the selection; false for a key that closes the view (q, Esc, Left, Ctrl-C).
    public mutating func handle(_ key: Key, rows: Int) -> Bool {
        let page = max(1, rows - 1)
        switch key {
        case .interrupt, .escape, .left, .character("q"): return false
        case .up, .down, .pageUp, .pageDown, .home, .end: selected = key.moving(selected, page: page, count: lines.count)
        default: return true
        }
        if selected < top { top = selected }
        if selected >= top + page { top = selected - page + 1 }
        return true
    }

    /// The screen: the lines from `top`, the selected one highlighted, and a line of keys at the bottom.
    public func render(rows: Int, columns: Int, closing: String) -> String {
        var out = "\u{1b}[H"
        for i in top..<min(lines.count, top + max(1, rows - 1)) { out += screenLine(lines[i], columns: columns, highlight: i == selected) }
        out += "\u{1b}[J\u{1b}[\(rows);1H" + String("Up/Down PgUp/PgDn Home/End move, \(closing)".prefix(columns)) + "\u{1b}[K"
        return out
    }

    /// Shows the view on `terminal` until a key closes it (or SIGINT, SIGTERM, SIGHUP), redrawing on resize.
    public mutating func present(on terminal: Terminal) {
        let signals = ember_terminal_signalfd()
        let epoll = ember_epoll_create()
        defer {
            if signals >= 0 { close(signals) }
            if epoll >= 0 { close(epoll) }
        }
        _ = ember_epoll_add(epoll, 0)
        if signals >= 0 { _ = ember_epoll_add(epoll, signals) }
        terminal.enter()
        defer { terminal.leave() }
        var fds = [Int32](repeating: 0, count: 4), events = [UInt32](repeating: 0, count: 4)
        while true {
            let size = terminal.size
            terminal.write(render(rows: size.rows, columns: size.columns, closing: "q quits"))
            let n = ember_epoll_wait(epoll, &fds, &events, 4, -1)
            for i in 0..<max(0, Int(n)) {
                if fds[i] == signals {
                    while case let signal = ember_signalfd_next(signals), signal != 0 { if signal != SIGWINCH { return } }
                } else {
                    for key in terminal.readKeys() where !handle(key, rows: terminal.size.rows) { return }
                }
            }
        }
    }
}

/// One line of a full-screen view: clipped to the width, the rest of the row cleared, optionally in reverse video.
func screenLine(_ text: String, columns: Int, highlight: Bool = false) -> String {
    (highlight ? "\u{1b}[7m" : "") + String(text.prefix(columns)) + "\u{1b}[K" + (highlight ? "\u{1b}[0m" : "") + "\r\n"
}

extension String {
    /// Tabs as spaces (a terminal would jump to its own tab stops past the clipped width).
    var replacingTabs: String {
        guard contains("\t") else { return self }
        return split(separator: "\t", omittingEmptySubsequences: false).joined(separator: "    ")
    }
}
