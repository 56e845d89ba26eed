import EmberKernel
import EmberPerfData
import EmberSession
import EmberSymbols

/// The text `ember script` prints after a sample's event name: a tracepoint's decoded fields (from the recording's
/// HEADER_TRACING_DATA), a uprobe's arguments, a uretprobe's return value, a USDT probe's arguments decoded with
/// the argument spec of its `.note.stapsdt` entry.
public final class SampleFields {
    private let events: [EventDescription]
    private let file: PerfDataFile?
    private lazy var tracing: TracingData.Contents = file?.section(.tracingData).map(TracingData.read) ?? .init()
    private lazy var printContext = PrintFormat.Context(kernelFunction: { [symbolizer] in symbolizer.kernelFunction(at: $0) },
                                                        kernelStrings: tracing.kernelStrings)
    private var usdtSites: [Int: USDTSites?] = [:]
    private let symbolizer: Symbolizer
    private let model: ProcessModel

    /// The fields of `replay`'s events (of a live recording, whose tracepoint formats are not at hand: the probes').
    public init(replay: Replay) {
        events = replay.events
        file = replay.file
        symbolizer = replay.symbolizer
        model = replay.model
    }

    /// True for the events `describe` has text for: tracepoints and probes.
    public func hasFields(event index: Int) -> Bool {
        let event = events[index]
        return event.attr.type == .tracepoint || ["uprobe:", "uretprobe:", "usdt:", "kprobe:", "kretprobe:"].contains { event.name.hasPrefix($0) }
    }

    public func describe(_ sample: Sample, event index: Int) -> String? {
        let event = events[index]
        // Probes first: they may be tracepoints too (defined through tracefs), whose raw fields say less.
        let name = event.name
        if let values = probeValues(sample, event: index) {
            if name.hasPrefix("uretprobe:") || name.hasPrefix("kretprobe:") { return (values.first ?? nil).map { "ret=\($0)" } }
            if name.hasPrefix("usdt:") {
                return values.enumerated().map { i, value in "arg\(i + 1)=" + (value.map(String.init) ?? "?") }.joined(separator: " ")
            }
            let present = values.compactMap { $0 }
            // A kprobe recorded without the registers (by an older Ember) has no arguments to show.
            guard !present.isEmpty || name.hasPrefix("u") else { return nil }
            return present.enumerated().map { "arg\($0.offset + 1)=\($0.element)" }.joined(separator: " ")
        }
        if event.attr.type == .tracepoint, !sample.raw.isEmpty {
            return tracing.formats[event.attr.config]?.describe(sample.raw, context: printContext)
        }
        return nil
    }

    /// A probe's values as numbers (nil for one the sample cannot give): a uprobe's or kprobe's six arguments, in
    /// the System V integer argument registers, which the kernel's calling convention shares (DI, SI, DX, CX, R8, R9;
    /// a uprobe's are the user registers, a kprobe's those at the interrupt); a uretprobe's or kretprobe's return
    /// value, in AX; a USDT probe's arguments by its note. nil for other events, and a USDT probe whose note is not
    /// at hand.
    public func probeValues(_ sample: Sample, event index: Int) -> [Int64?]? {
        let name = events[index].name
        if name.hasPrefix("usdt:") { return usdt(index, name, sample).map { $0.map { $0.value(sample) } } }
        let user = name.hasPrefix("u")
        func register(_ bit: Int) -> Int64? {
            (user ? sample.userRegister(perfBit: bit) : sample.intrRegister(perfBit: bit)).map { Int64(bitPattern: $0) }
        }
        if name.hasPrefix("uretprobe:") || name.hasPrefix("kretprobe:") { return [register(0)] }
        if name.hasPrefix("uprobe:") || name.hasPrefix("kprobe:") { return [5, 4, 3, 2, 16, 17].map(register) }
        return nil
    }

    /// The argument specs of a USDT probe's sites. The compiler may copy a probe (inlining, unrolling): each copy
    /// has a note of its own, with its own registers, and all are probed under one event name (the recording defines
    /// them through tracefs, so the event does not say which site it is): a sample's site is the one at its address.
    private struct USDTSites {
        var key: String
        /// By the site's file offset; the first site's alone when there is one, or from an archive.
        var byOffset: [UInt64: [USDTArgument]] = [:]
        var first: [USDTArgument]?
    }

    /// `usdt:PATH:PROVIDER:NAME`: the argument spec of the note of the site `sample` was taken at. An archive keeps
    /// each site's spec under `KEY@OFFSET` and the first's under `KEY` (which older archives have alone).
    private func usdt(_ index: Int, _ name: String, _ sample: Sample) -> [USDTArgument]? {
        let known = usdtSites[index]
        guard let sites = known == nil ? loadSites(index, name) : known! else { return nil }
        if sites.byOffset.count <= 1, symbolizer.archive == nil { return sites.byOffset.values.first ?? sites.first }
        guard let offset = model.resolve(pid: sample.pid, address: sample.ip)?.address.value else { return sites.first }
        if let spec = sites.byOffset[offset] { return spec }
        guard let archive = symbolizer.archive, let text = archive.usdtArguments(sites.key + "@" + String(offset, radix: 16)) else {
            return sites.first
        }
        let spec = USDTArgument.list(text)
        usdtSites[index]??.byOffset[offset] = spec
        return spec
    }

    private func loadSites(_ index: Int, _ name: String) -> USDTSites? {
        let parts = name.split(separator: ":").map(String.init)
        var sites = USDTSites(key: parts.dropFirst().joined(separator: ":"))
        if let archive = symbolizer.archive {
            sites.first = archive.usdtArguments(sites.key).map(USDTArgument.list)
        } else if parts.count >= 4 {
            let path = parts[1..<(parts.count - 2)].joined(separator: ":")
            let notes = ((try? ElfImage.usdtProbes(path: path)) ?? []).filter { $0.provider == parts[parts.count - 2] && $0.name == parts[parts.count - 1] }
            let image = notes.count > 1 ? try? ElfImage(path: path) : nil
            for (i, note) in notes.enumerated() {
                let spec = USDTArgument.list(note.arguments)
                if i == 0 {
                    sites.first = spec
                    symbolizer.capture?.storeUSDT(sites.key, arguments: note.arguments)
                }
                guard let offset = image?.fileOffset(ofVirtualAddress: note.pc) else { continue }
                sites.byOffset[offset] = spec
                symbolizer.capture?.storeUSDT(sites.key + "@" + String(offset, radix: 16), arguments: note.arguments)
            }
        }
        let found: USDTSites? = sites.first == nil ? nil : sites
        usdtSites[index] = found
        return found
    }
}

/// One USDT argument spec: `-4@%edi` (a register), `8@-16(%rbp)` (memory), `4@$5` (a constant).
struct USDTArgument {
    enum Location {
        case register(Int)
        case memory(Int, offset: Int64)
        case constant(Int64)
    }

    var size: Int
    var signed: Bool
    var location: Location

    /// x86-64 register names (every width) to PERF_REG_X86 bits.
    private static let registers: [String: Int] = {
        var map: [String: Int] = [:]
        let families: [([String], Int)] = [
            (["rax", "eax", "ax", "al"], 0), (["rbx", "ebx", "bx", "bl"], 1), (["rcx", "ecx", "cx", "cl"], 2),
            (["rdx", "edx", "dx", "dl"], 3), (["rsi", "esi", "si", "sil"], 4), (["rdi", "edi", "di", "dil"], 5),
            (["rbp", "ebp", "bp", "bpl"], 6), (["rsp", "esp", "sp", "spl"], 7), (["rip"], 8),
        ]
        for (names, bit) in families { for n in names { map[n] = bit } }
        for i in 8...15 { for suffix in ["", "d", "w", "b"] { map["r\(i)\(suffix)"] = 16 + i - 8 } }
        return map
    }()

    /// Every spec of a note's argument string (`-4@%edi 8@%rdx`).
    static func list(_ text: String) -> [USDTArgument] { text.split(separator: " ").compactMap { USDTArgument(spec: String($0)) } }

    init?(spec: String) {
        guard let at = spec.firstIndex(of: "@"), let n = Int(spec[..<at]), [1, 2, 4, 8].contains(n.magnitude) else { return nil }
        signed = n < 0
        size = Int(n.magnitude)
        let operand = spec[spec.index(after: at)...]
        if operand.hasPrefix("$"), let value = Int64(operand.dropFirst()) {
            location = .constant(value)
        } else if operand.hasPrefix("%"), let bit = USDTArgument.registers[String(operand.dropFirst())] {
            location = .register(bit)
        } else if let open = operand.firstIndex(of: "("), operand.hasSuffix(")"),
                  let bit = USDTArgument.registers[String(operand[operand.index(after: open)...].dropFirst().dropLast())] {
            location = .memory(bit, offset: Int64(operand[..<open]) ?? 0)
        } else {
            return nil
        }
    }

    func value(_ sample: Sample) -> Int64? {
        var raw: UInt64
        switch location {
        case .constant(let c): return c
        case .register(let bit):
            guard let r = sample.userRegister(perfBit: bit) else { return nil }
            raw = r
        case .memory(let bit, let offset):
            // The stack copy starts at the sampled SP; the red zone below it is not copied.
            guard let base = sample.userRegister(perfBit: bit), let sp = sample.userRegister(perfBit: 7) else { return nil }
            let address = base &+ UInt64(bitPattern: offset)
            guard address >= sp, address - sp <= UInt64(sample.userStack.count), UInt64(sample.userStack.count) - (address - sp) >= UInt64(size) else { return nil }
            raw = 0
            for i in 0..<size { raw |= UInt64(sample.userStack[Int(address - sp) + i]) << (8 * UInt64(i)) }
        }
        let bits = size * 8
        if bits < 64 { raw &= (1 << UInt64(bits)) - 1 }
        if signed, bits < 64, raw & (1 << UInt64(bits - 1)) != 0 { return Int64(bitPattern: raw | ~((1 << UInt64(bits)) - 1)) }
        return Int64(bitPattern: raw)
    }
}
