import EmberRender
import EmberSymbols

/// What `annotate` prints of a function.
public enum AnnotationLayout: Sendable {
    /// Source lines with their instructions under them, as `perf annotate --stdio`.
    case sourceAndAssembly
    /// One row per source line, its share summed over its instructions.
    case sourceOnly
    /// The instructions alone.
    case assemblyOnly
}

/// Prints an annotated function in perf annotate's `--stdio` layout: `PERCENT :  ADDR:  instruction` rows, and
/// source rows as `         : LINE  text`.
public struct AnnotationWriter {
    public let layout: AnnotationLayout
    public let event: String
    /// The samples of the whole reading, for the function's share in the header.
    public let totalSamples: Int
    private let sources: SourceFiles

    public init(layout: AnnotationLayout, event: String, totalSamples: Int, sources: SourceFiles) {
        self.layout = layout
        self.event = event
        self.totalSamples = totalSamples
        self.sources = sources
    }

    public func write(_ annotated: AnnotatedFunction, to out: TextOutput) {
        for line in lines(annotated).lines { out.write(line + "\n") }
    }

    /// The printed lines, and which of them is the hottest row (for a view that opens on it).
    public func lines(_ annotated: AnnotatedFunction) -> (lines: [String], hottest: Int) {
        var lines: [String] = []
        var hottest = (index: 0, period: UInt64(0))
        func row(_ period: UInt64, _ text: String) {
            if period > hottest.period { hottest = (lines.count, period) }
            lines.append(text)
        }
        let function = annotated.function
        let binary = function.binary.split(separator: "/").last.map(String.init) ?? function.binary
        let what = layout == .sourceOnly ? "Source code" : layout == .assemblyOnly ? "Disassembly" : "Source code & Disassembly"
        let title = " Percent |\t\(what) of \(binary) for \(event) (\(function.samples) samples, percent: local period)"
        lines.append(title)
        lines.append(String(repeating: "-", count: title.utf8.count + 4))
        let share = totalSamples > 0 ? Double(function.samples) * 100 / Double(totalSamples) : 0
        var about = "         :   \(function.name): \(function.samples) of \(totalSamples) samples (\(percentText(share / 100))%) in \(function.binary)"
        if let file = annotated.mainFile {
            let found = annotated.rows.contains { row in
                row.line.flatMap { $0.file == file ? annotated.code.sourceText[$0] ?? sources.text(of: $0) : nil } != nil
            }
            about += ", source \(file)" + (found ? "" : " (not on this machine: line numbers only)")
        }
        lines.append(about)
        lines.append("         :")
        let total = max(function.period, 1)
        let addressWidth = String(annotated.code.end, radix: 16).count
        let lineWidth = annotated.rows.compactMap { $0.line.map { label($0, main: annotated.mainFile) } }.map(\.count).max() ?? 0
        switch layout {
        case .sourceOnly:
            for (line, period) in annotated.lines {
                row(period, "\(percent(period, of: total)) : \(padded(label(line, main: annotated.mainFile), lineWidth))   \(text(of: line, annotated.code))")
            }
        case .assemblyOnly, .sourceAndAssembly:
            var previous: SourceLine?
            for instruction in annotated.rows {
                if layout == .sourceAndAssembly, let line = instruction.line, line != previous {
                    lines.append("         : \(padded(label(line, main: annotated.mainFile), lineWidth))   \(text(of: line, annotated.code))")
                    previous = line
                }
                let address = String(instruction.instruction.address, radix: 16)
                row(instruction.period, "\(percent(instruction.period, of: total)) :   \(String(repeating: " ", count: max(0, addressWidth - address.count)))\(address):   \(instruction.text)")
            }
        }
        return (lines, hottest.index)
    }

    /// A line's number, with its file's name when it is not the function's own file (an inlined helper's header).
    private func label(_ line: SourceLine, main: String?) -> String {
        line.file == main ? String(line.line) : line.short
    }

    private func text(of line: SourceLine, _ code: FunctionCode) -> String {
        let text = code.sourceText[line] ?? sources.text(of: line)
        return text.map { String($0.drop { $0 == " " || $0 == "\t" }) } ?? ""
    }

    private func percent(_ period: UInt64, of total: UInt64) -> String {
        let text = percentText(Double(period) / Double(total))
        return String(repeating: " ", count: max(0, 8 - text.count)) + text
    }

}
