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
        let function = annotated.function
        let binary = function.binary.split(separator: "/").last.map(String.init) ?? function.binary
        let what = layout == .sourceOnly ? "Source code" : layout == .assemblyOnly ? "Disassembly" : "Source code & Disassembly"
        let title = " Percent |\t\(what) of \(binary) for \(event) (\(function.samples) samples, percent: local period)"
        out.write(title + "\n")
        out.write(String(repeating: "-", count: title.utf8.count + 4) + "\n")
        let share = totalSamples > 0 ? Double(function.samples) * 100 / Double(totalSamples) : 0
        out.write("         :   \(function.name): \(function.samples) of \(totalSamples) samples (\(fixed(share))%) in \(function.binary)")
        if let file = annotated.mainFile {
            let found = annotated.rows.contains { $0.line.map { annotated.code.sourceText[$0] ?? sources.text(of: $0) } != nil }
            out.write(", source \(file)" + (found ? "" : " (not on this machine: line numbers only)"))
        }
        out.write("\n         :\n")
        let total = max(function.period, 1)
        let addressWidth = String(annotated.code.end, radix: 16).count
        let lineWidth = annotated.rows.compactMap { $0.line.map { label($0, main: annotated.mainFile) } }.map(\.count).max() ?? 0
        switch layout {
        case .sourceOnly:
            for (line, period) in annotated.lines {
                out.write("\(percent(period, of: total)) : \(pad(label(line, main: annotated.mainFile), lineWidth))   \(text(of: line, annotated.code))\n")
            }
        case .assemblyOnly, .sourceAndAssembly:
            var previous: SourceLine?
            for row in annotated.rows {
                if layout == .sourceAndAssembly, let line = row.line, line != previous {
                    out.write("         : \(pad(label(line, main: annotated.mainFile), lineWidth))   \(text(of: line, annotated.code))\n")
                    previous = line
                }
                let address = String(row.instruction.address, radix: 16)
                out.write("\(percent(row.period, of: total)) :   \(String(repeating: " ", count: max(0, addressWidth - address.count)))\(address):   \(row.text)\n")
            }
        }
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
        let text = fixed(Double(period) * 100 / Double(total))
        return String(repeating: " ", count: max(0, 8 - text.count)) + text
    }

    private func pad(_ s: String, _ width: Int) -> String {
        s + String(repeating: " ", count: max(0, width - s.count))
    }

    /// Two decimals, as perf prints percentages.
    private func fixed(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
