import EmberPerfData
import EmberReplay
import EmberSession
import EmberStacks
import EmberSymbols

/// The fields `ember script -F` selects, as perf script names them.
public struct ScriptFields: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let comm = ScriptFields(rawValue: 1 << 0)
    public static let pid = ScriptFields(rawValue: 1 << 1)
    public static let tid = ScriptFields(rawValue: 1 << 2)
    public static let cpu = ScriptFields(rawValue: 1 << 3)
    public static let time = ScriptFields(rawValue: 1 << 4)
    public static let period = ScriptFields(rawValue: 1 << 5)
    public static let event = ScriptFields(rawValue: 1 << 6)
    /// A tracepoint's decoded fields, a probe's arguments or return value.
    public static let trace = ScriptFields(rawValue: 1 << 7)
    public static let ip = ScriptFields(rawValue: 1 << 8)
    public static let sym = ScriptFields(rawValue: 1 << 9)
    public static let symoff = ScriptFields(rawValue: 1 << 10)
    public static let dso = ScriptFields(rawValue: 1 << 11)
    public static let srcline = ScriptFields(rawValue: 1 << 12)

    public static let names: [(String, ScriptFields)] = [
        ("comm", .comm), ("pid", .pid), ("tid", .tid), ("cpu", .cpu), ("time", .time), ("period", .period),
        ("event", .event), ("trace", .trace), ("ip", .ip), ("sym", .sym), ("symoff", .symoff), ("dso", .dso),
        ("srcline", .srcline),
    ]

    /// What `ember script` prints without `-F`.
    public static let standard: ScriptFields = [.comm, .pid, .tid, .cpu, .time, .period, .event, .trace, .ip, .sym, .symoff, .dso]

    /// `-F`: a list that replaces the standard fields (`comm,tid,time,ip,sym`), or one whose every entry is `+name`
    /// or `-name`, which changes them; nil for an unknown name or a mix of the two forms.
    public static func parse(_ text: String) -> ScriptFields? {
        let items = text.split(separator: ",").map { $0.trimmed }
        guard !items.isEmpty else { return nil }
        let relative = items.allSatisfy { $0.hasPrefix("+") || $0.hasPrefix("-") }
        guard relative || !items.contains(where: { $0.hasPrefix("+") || $0.hasPrefix("-") }) else { return nil }
        var fields: ScriptFields = relative ? standard : []
        for item in items {
            let name = relative ? String(item.dropFirst()) : item
            guard let field = names.first(where: { $0.0 == name })?.1 else { return nil }
            if relative, item.hasPrefix("-") { fields.remove(field) } else { fields.insert(field) }
        }
        return fields
    }
}

/// `ember script`: each sample as `perf script` prints it with call chains — a header line at column 0
/// (`comm pid/tid [cpu] time: period event:`), one indented line per frame (`addr symbol+offset (binary)`), then a
/// blank line. Inlined functions come before the frame they were inlined into, as `addr name (inlined)`; with
/// source lines, each frame line is followed by `  file:line`, as perf's `-F +srcline` prints it. `fields` picks
/// what each line shows (`-F`), `hideCallGraph` puts only the sampled frame on the header line (`-G`), and
/// `nanoseconds` prints times to the nanosecond (`--ns`).
public struct ScriptWriter {
    public var fields = ScriptFields.standard
    /// Tracepoints and probes print without the period (always 1) unless `-F` names it, as in perf.
    public var periodOnTraceEvents = false
    public var hideCallGraph = false
    public var nanoseconds = false
    /// How times are shown: as recorded, since the first sample (`--reltime`), or since the one before
    /// (`--deltatime`).
    public enum Times: Sendable { case absolute, sinceFirst, sincePrevious }
    public var times = Times.absolute

    public init() {}

    /// Writes every sample of `replay` to `out`; returns the number of samples written.
    @discardableResult
    public func write(_ replay: Replay, to out: TextOutput) -> UInt64 {
        var frames: [ResolvedFrame] = []
        let events = replay.events
        // Event names right-aligned to the longest, as perf aligns them.
        let width = events.map(\.name.count).max() ?? 0
        let names = events.map { String(repeating: " ", count: width - $0.name.count) + $0.name + ": " }
        let model = replay.model
        let dsoNames = { (i: Int) in model.dsos[i].path }
        var count: UInt64 = 0
        var firstTime: UInt64?, previousTime: UInt64?
        let sampleFields = SampleFields(replay: replay)
        let sourceLines = replay.symbolizer.options.sourceLines || fields.contains(.srcline)
        let showsFrames = !fields.isDisjoint(with: [.ip, .sym, .symoff, .dso])
        // perf marks where its DWARF unwind stopped with an address of all ones it cannot name.
        let truncation = replay.resolver.perfCompatible ? (address: UInt64.max, name: "[unknown]") : (address: UInt64(0), name: FrameTable.truncatedName)
        // What each event's lines show: no [cpu] where its samples lack the CPU (perf's recordings without -a).
        let eventFields = events.indices.map { i in
            var f = fields
            if !events[i].attr.sampleType.contains(.cpu) { f.remove(.cpu) }
            if sampleFields.hasFields(event: i), !periodOnTraceEvents { f.remove(.period) }
            return f
        }
        func line(_ l: SourceLine?) {
            guard sourceLines, let l else { return }
            out.write("  ")
            out.write(l.short)
            out.byte(0x0a)
        }
        /// The frame's selected parts: address, name, offset, binary.
        func frameText(_ frame: ResolvedFrame) {
            var first = true
            func space() { if !first { out.byte(0x20) }; first = false }
            if fields.contains(.ip) {
                space()
                out.hex(frame.isTruncation ? truncation.address : frame.address, width: 16)
            }
            if frame.isTruncation {
                if fields.contains(.sym) { space(); out.write(truncation.name) }
                if fields.contains(.dso) { space(); out.write("([unknown])") }
                return
            }
            if fields.contains(.sym) {
                space()
                out.write(frame.symbol?.name ?? "[unknown]")
            }
            if fields.contains(.symoff), let symbol = frame.symbol {
                first = false
                out.write("+0x")
                out.hex(symbol.offset)
            }
            if fields.contains(.dso) {
                space()
                out.byte(UInt8(ascii: "("))
                out.write(frame.location.map { dsoNames($0.dso) } ?? "[unknown]")
                out.byte(UInt8(ascii: ")"))
            }
        }
        replay.forEachSample(event: nil) { sample, eventIndex in
            count += 1
            let fields = eventFields[eventIndex]
            var first = true
            func space() { if !first { out.byte(0x20) }; first = false }
            if fields.contains(.comm) {
                space()
                out.write(model.comm(tid: sample.tid))
            }
            if fields.contains(.pid) || fields.contains(.tid) {
                space()
                if fields.contains(.pid) { out.decimal(sample.pid, width: 5) }
                if fields.contains(.pid) && fields.contains(.tid) { out.byte(UInt8(ascii: "/")) }
                if fields.contains(.tid) { out.decimal(sample.tid, width: 5, left: fields.contains(.pid)) }
            }
            if fields.contains(.cpu) {
                space()
                out.byte(UInt8(ascii: "["))
                out.decimal(UInt64(sample.cpu), width: 3, zeros: true)
                out.byte(UInt8(ascii: "]"))
            }
            if fields.contains(.time) {
                space()
                var time = sample.time
                switch times {
                case .absolute: break
                case .sinceFirst: time = sample.time &- (firstTime ?? sample.time)
                case .sincePrevious: time = sample.time &- (previousTime ?? sample.time)
                }
                if firstTime == nil { firstTime = sample.time }
                previousTime = sample.time
                out.decimal(time / 1_000_000_000, width: 5)
                out.byte(UInt8(ascii: "."))
                if nanoseconds {
                    out.decimal(time % 1_000_000_000, width: 9, zeros: true)
                } else {
                    out.decimal(time % 1_000_000_000 / 1000, width: 6, zeros: true)
                }
                out.byte(UInt8(ascii: ":"))
            }
            if fields.contains(.period) {
                space()
                out.decimal(sample.period, width: 10)
            }
            if fields.contains(.event) {
                space()
                out.write(names[eventIndex])
            }
            let text = fields.contains(.trace) ? sampleFields.describe(sample, event: eventIndex) : nil
            if let text {
                if !fields.contains(.event) { space() }
                out.write(text)
            }
            // Tracepoints and probes without call chains: the fields are the sample, on one line.
            if text != nil, sample.callchainCount == 0 {
                out.byte(0x0a)
                return
            }
            guard showsFrames else {
                out.byte(0x0a)
                return
            }
            replay.resolver.frames(of: sample, into: &frames)
            if hideCallGraph {
                if let leaf = frames.first {
                    space()
                    frameText(leaf)
                }
                out.byte(0x0a)
                line(frames.first?.symbol?.line)
                return
            }
            out.byte(0x0a)
            for frame in frames {
                for function in frame.symbol?.inlined ?? [] {
                    out.byte(0x09)
                    if fields.contains(.ip) {
                        out.hex(frame.address, width: 16)
                        out.byte(0x20)
                    }
                    out.write(function.name)
                    out.write(" (inlined)\n")
                    line(function.line)
                }
                out.byte(0x09)
                frameText(frame)
                if frame.isFromStackTail { out.write(" (stack tail)") }
                if frame.isAsyncCaller { out.write(" (async)") }
                out.byte(0x0a)
                line(frame.symbol?.line)
            }
            out.byte(0x0a)
        }
        return count
    }
}
