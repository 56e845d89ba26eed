import CEmberShim
#if canImport(Glibc)
import Glibc
#endif

/// A key read from the terminal in raw mode.
public enum Key: Equatable, Sendable {
    case character(Character)
    case up, down, left, right, pageUp, pageDown, home, end
    case enter, escape, backspace, interrupt

    /// Where a selection among `count` lines goes on this key (arrows, paging by `page`, Home, End).
    func moving(_ selected: Int, page: Int, count: Int) -> Int {
        let moved: Int
        switch self {
        case .up: moved = selected - 1
        case .down: moved = selected + 1
        case .pageUp: moved = selected - page
        case .pageDown: moved = selected + page
        case .home: moved = 0
        case .end: moved = count - 1
        default: moved = selected
        }
        return max(0, min(moved, count - 1))
    }

    /// The bytes end in an escape sequence's first part: ESC, or ESC [ (or ESC O) and parameters.
    static func endsInsideSequence(_ bytes: [UInt8]) -> Bool {
        guard let escape = bytes.lastIndex(of: 0x1b) else { return false }
        let rest = bytes[(escape + 1)...]
        guard let introducer = rest.first else { return true }
        guard introducer == UInt8(ascii: "[") || introducer == UInt8(ascii: "O") else { return false }
        return rest.dropFirst().allSatisfy { $0 >= 0x30 && $0 <= 0x3f }
    }

    /// The keys in bytes read at once: escape sequences (arrows, paging) whole, a lone ESC as `escape`.
    static func decode(_ bytes: [UInt8]) -> [Key] {
        var keys: [Key] = []
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x1b {
                // CSI (ESC [) or SS3 (ESC O) sequences; anything else after ESC is ESC then that key.
                guard i + 2 < bytes.count, bytes[i + 1] == UInt8(ascii: "[") || bytes[i + 1] == UInt8(ascii: "O") else {
                    keys.append(.escape)
                    i += 1
                    continue
                }
                var j = i + 2
                while j < bytes.count, bytes[j] >= 0x30, bytes[j] <= 0x3f { j += 1 }
                guard j < bytes.count else { i = j; continue }
                let parameter = String(decoding: bytes[(i + 2)..<j], as: UTF8.self)
                switch (bytes[j], parameter) {
                case (UInt8(ascii: "A"), _): keys.append(.up)
                case (UInt8(ascii: "B"), _): keys.append(.down)
                case (UInt8(ascii: "C"), _): keys.append(.right)
                case (UInt8(ascii: "D"), _): keys.append(.left)
                case (UInt8(ascii: "H"), _), (UInt8(ascii: "~"), "1"), (UInt8(ascii: "~"), "7"): keys.append(.home)
                case (UInt8(ascii: "F"), _), (UInt8(ascii: "~"), "4"), (UInt8(ascii: "~"), "8"): keys.append(.end)
                case (UInt8(ascii: "~"), "5"): keys.append(.pageUp)
                case (UInt8(ascii: "~"), "6"): keys.append(.pageDown)
                default: break
                }
                i = j + 1
                continue
            }
            switch b {
            case 0x0d, 0x0a: keys.append(.enter)
            case 0x7f, 0x08: keys.append(.backspace)
            case 0x03: keys.append(.interrupt)
            case 0x20..<0x7f: keys.append(.character(Character(UnicodeScalar(b))))
            default: break
            }
            i += 1
        }
        return keys
    }
}

/// The terminal `ember top` draws on: raw input, the alternate screen and a hidden cursor while it runs, and the
/// settings it found put back exactly once, however the program ends.
public final class Terminal {
    private var saved = termios()
    private var active = false

    /// nil when standard input and output are not both a terminal.
    public init?() {
        guard isatty(0) == 1, isatty(1) == 1, tcgetattr(0, &saved) == 0 else { return nil }
    }

    deinit { leave() }

    /// Raw input (no echo, no line editing, Ctrl-C as a key), the alternate screen, no cursor.
    public func enter() {
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO | ISIG | IEXTEN)
        raw.c_iflag &= ~tcflag_t(IXON | ICRNL)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        tcsetattr(0, TCSAFLUSH, &raw)
        active = true
        write("\u{1b}[?1049h\u{1b}[?25l\u{1b}[H\u{1b}[2J")
    }

    /// The screen and settings as they were.
    public func leave() {
        guard active else { return }
        active = false
        write("\u{1b}[0m\u{1b}[?25h\u{1b}[?1049l")
        tcsetattr(0, TCSAFLUSH, &saved)
    }

    /// Rows and columns (24x80 when the terminal does not say).
    public var size: (rows: Int, columns: Int) {
        var rows: Int32 = 0, columns: Int32 = 0
        guard ember_terminal_size(1, &rows, &columns) != 0, rows > 0, columns > 0 else { return (24, 80) }
        return (Int(rows), Int(columns))
    }

    /// The keys waiting on standard input. An escape sequence split across reads (a slow link) is waited for, up
    /// to 50 ms, so that an arrow key never reads as Escape.
    public func readKeys() -> [Key] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        repeat {
            let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            bytes += buffer[..<n]
        } while Key.endsInsideSequence(bytes) && Terminal.inputArrives(within: 50)
        return Key.decode(bytes)
    }

    private static func inputArrives(within milliseconds: Int32) -> Bool {
        var fd = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
        return poll(&fd, 1, milliseconds) > 0
    }

    public func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var at = 0
            while at < bytes.count {
                let n = Glibc.write(1, bytes.baseAddress! + at, bytes.count - at)
                if n < 0 { if errno == EINTR { continue } else { return } }
                at += n
            }
        }
    }
}
