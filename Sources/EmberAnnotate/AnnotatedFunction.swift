import EmberReplay
import EmberSymbols

/// A function's instructions, each with its share of the function's samples and its source line.
public struct AnnotatedFunction {
    public struct Row {
        public var instruction: Instruction
        /// The instruction as printed: mnemonic and operands, a direct jump or call naming where it goes.
        public var text: String
        public var period: UInt64
        public var line: SourceLine?
    }

    public let function: SampledFunction
    public let code: FunctionCode
    public private(set) var rows: [Row] = []
    /// The file most of the function's code comes from (its own source file); lines of other files are inlined.
    public let mainFile: String?

    public var hasSourceLines: Bool { !code.lines.isEmpty }

    /// Disassembles `code` and gives each instruction the period of the samples taken at it.
    public init(_ function: SampledFunction, code: FunctionCode, replay: Replay, syntax: AssemblySyntax) throws(DisassemblyError) {
        self.function = function
        self.code = code
        let instructions = try Disassembler.instructions(of: code.bytes, at: code.start, syntax: syntax)
        var files: [String: Int] = [:]
        for instruction in instructions {
            let from = instruction.address - code.start
            var period: UInt64 = 0
            for offset in from..<from + UInt64(instruction.size) { period &+= function.periods[offset] ?? 0 }
            let line = code.line(at: instruction.address)
            if let line { files[line.file, default: 0] += 1 }
            rows.append(Row(instruction: instruction, text: AnnotatedFunction.text(of: instruction, code: code, function: function, replay: replay),
                            period: period, line: line))
        }
        mainFile = files.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key
    }

    /// `jbe hot_function+0x65`, `call cold_setup`: a direct target by name (objdump's `<...>` without the address).
    private static func text(of instruction: Instruction, code: FunctionCode, function: SampledFunction, replay: Replay) -> String {
        let mnemonic = instruction.mnemonic.count < 6 ? instruction.mnemonic + String(repeating: " ", count: 6 - instruction.mnemonic.count) : instruction.mnemonic
        guard let target = instruction.target else { return instruction.operands.isEmpty ? instruction.mnemonic : "\(mnemonic) \(instruction.operands)" }
        let named: (name: String, offset: UInt64)?
        if target >= code.start, target < code.end {
            named = (function.name, target - code.start)
        } else {
            named = replay.symbolizer.target(target, of: code, dso: function.location.dso)
        }
        guard let named else { return "\(mnemonic) 0x\(String(target, radix: 16))" }
        return "\(mnemonic) \(named.name)" + (named.offset == 0 ? "" : "+0x\(String(named.offset, radix: 16))")
    }

    /// Each source line's share, summed over every place its code is (a loop's condition at the top and the
    /// bottom, an inlined helper called twice), with the function's own file first, then by file and line.
    public var lines: [(line: SourceLine, period: UInt64)] {
        var sums: [SourceLine: UInt64] = [:]
        for row in rows { if let line = row.line { sums[line, default: 0] &+= row.period } }
        let main = mainFile
        return sums.sorted { a, b in
            let (am, bm) = (a.key.file == main, b.key.file == main)
            if am != bm { return am }
            return (a.key.file, a.key.line) < (b.key.file, b.key.line)
        }.map { ($0.key, $0.value) }
    }
}
