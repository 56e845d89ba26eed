import EmberKernel

/// One `-e` of `ember record` or `ember stat`, as written.
public enum EventRequest: Equatable, Sendable {
    /// A software or hardware event (`cpu-clock`, `cycles`), with perf's modifiers (`cpu-clock:u`).
    case counter(EventSpec, modifiers: String = "")
    /// `SYSTEM:NAME`, globs allowed (`sched:*`).
    case tracepoint(String)
    /// `uprobe:BINARY:SYMBOL[+OFFSET]`, `uprobe:BINARY:0xFILEOFFSET`, `uretprobe:BINARY:SYMBOL`.
    case uprobe(binary: String, location: ProbeLocation, isReturn: Bool)
    /// `usdt:BINARY:PROVIDER:NAME` (or `sdt:`).
    case usdt(binary: String, provider: String, name: String)
    /// `kprobe:FUNCTION[+OFFSET]`, `kretprobe:FUNCTION`.
    case kprobe(function: String, offset: UInt64, isReturn: Bool)

    public enum ProbeLocation: Equatable, Sendable {
        case symbol(String, offset: UInt64)
        case fileOffset(UInt64)
    }

    /// Parses one `-e` value; the error says what the accepted forms are.
    public static func parse(_ text: String) throws -> EventRequest {
        if let spec = EventSpec.named(text) { return .counter(spec) }
        // `cycles:u`, `cpu-clock:ppp`: a counter with perf's modifiers.
        if let colon = text.lastIndex(of: ":"), let spec = EventSpec.named(String(text[..<colon])) {
            let modifiers = String(text[text.index(after: colon)...])
            guard !modifiers.isEmpty, modifiers.allSatisfy({ EventRequest.modifierLetters.contains($0) }) else {
                throw RecordError.badEvent(text, "modifiers are u (user), k (kernel), h (hypervisor), p/pp/ppp (precise), G, H, I")
            }
            return .counter(spec, modifiers: modifiers)
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        func bad(_ why: String) -> RecordError { .badEvent(text, why) }
        switch parts[0] {
        case "uprobe", "uretprobe":
            // The binary may be a path with colons in principle; the location is the last field.
            guard parts.count >= 3, let last = parts.last, !last.isEmpty else { throw bad("write uprobe:BINARY:SYMBOL[+OFFSET] or uprobe:BINARY:0xFILEOFFSET") }
            let binary = parts[1..<(parts.count - 1)].joined(separator: ":")
            guard !binary.isEmpty else { throw bad("name the binary: uprobe:BINARY:SYMBOL") }
            return .uprobe(binary: binary, location: try location(last, text), isReturn: parts[0] == "uretprobe")
        case "usdt", "sdt":
            guard parts.count == 4, parts.allSatisfy({ !$0.isEmpty }) else { throw bad("write usdt:BINARY:PROVIDER:NAME") }
            return .usdt(binary: parts[1], provider: parts[2], name: parts[3])
        case "kprobe", "kretprobe":
            guard parts.count == 2, !parts[1].isEmpty else { throw bad("write kprobe:FUNCTION[+OFFSET] or kretprobe:FUNCTION") }
            let pieces = parts[1].split(separator: "+", maxSplits: 1).map(String.init)
            let offset = try pieces.count == 2 ? number(pieces[1], text) : 0
            if parts[0] == "kretprobe" && offset != 0 { throw bad("a return probe takes no offset") }
            return .kprobe(function: pieces[0], offset: offset, isReturn: parts[0] == "kretprobe")
        default:
            if parts.count == 1 { throw RecordError.unknownEvent(text) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw bad("use a software or hardware event (\(EventSpec.known.map(\.name).joined(separator: ", "))), SYSTEM:TRACEPOINT, uprobe:, uretprobe:, usdt:, kprobe: or kretprobe:")
            }
            return .tracepoint(text)
        }
    }

    static let modifierLetters: Set<Character> = ["u", "k", "h", "p", "P", "G", "H", "I"]

    /// The attr flags of perf's event modifiers: u, k and h keep only the privilege levels named; p (precise) is
    /// accepted and, as perf does for software events, has no effect here; G/H/I exclude host, guest and idle.
    public static func flags(modifiers: String) -> AttrFlags {
        var flags: AttrFlags = []
        let levels = modifiers.filter { "ukh".contains($0) }
        if !levels.isEmpty {
            if !levels.contains("u") { flags.insert(.excludeUser) }
            if !levels.contains("k") { flags.insert(.excludeKernel) }
            if !levels.contains("h") { flags.insert(.excludeHypervisor) }
        }
        if modifiers.contains("G") { flags.insert(.excludeHost) }
        if modifiers.contains("H") { flags.insert(.excludeGuest) }
        if modifiers.contains("I") { flags.insert(.excludeIdle) }
        return flags
    }

    private static func location(_ field: String, _ text: String) throws -> ProbeLocation {
        if field.hasPrefix("0x") { return .fileOffset(try number(field, text)) }
        let pieces = field.split(separator: "+", maxSplits: 1).map(String.init)
        return .symbol(pieces[0], offset: try pieces.count == 2 ? number(pieces[1], text) : 0)
    }

    private static func number(_ s: String, _ text: String) throws -> UInt64 {
        let value = s.hasPrefix("0x") ? UInt64(s.dropFirst(2), radix: 16) : UInt64(s)
        guard let value else { throw RecordError.badEvent(text, "'\(s)' is not a number (decimal, or hex with 0x)") }
        return value
    }
}
