import EmberStacks

/// A `perf report --stdio`-style table of symbols with Children and Self percentages.
public struct ReportWriter {
    public var children = true
    public var limit: Int?
    public var eventName = ""

    public init() {}

    public func render(_ summary: SymbolSummary) -> String {
        let total = Double(max(summary.totalWeight, 1))
        let sorted = summary.entries.sorted {
            let a = children ? $0.childrenWeight : $0.selfWeight, b = children ? $1.childrenWeight : $1.selfWeight
            if a != b { return a > b }
            if $0.selfWeight != $1.selfWeight { return $0.selfWeight > $1.selfWeight }
            return ($0.symbol, $0.dso, $0.comm) < ($1.symbol, $1.dso, $1.comm)
        }
        let rows = limit.map { Array(sorted.prefix($0)) } ?? sorted
        let commWidth = max(7, rows.map { $0.comm.count }.max() ?? 0)
        let dsoWidth = max(13, rows.map { $0.dso.count }.max() ?? 0)
        var out = "# Samples: \(summary.sampleCount) of event '\(eventName)'\n"
        out += "# Event weight (period): \(summary.totalWeight)\n#\n"
        out += "# " + (children ? "Children      Self" : "Overhead") + "  " + pad("Command", commWidth) + "  "
            + pad("Shared Object", dsoWidth) + "  Symbol\n"
        for e in rows {
            out += children ? "  " + percent(Double(e.childrenWeight) / total) + "  " : "  "
            out += percent(Double(e.selfWeight) / total) + "  " + pad(e.comm, commWidth) + "  " + pad(e.dso, dsoWidth)
            out += "  [" + (e.isKernel ? "k" : ".") + "] " + e.symbol + "\n"
        }
        return out
    }

    private func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }

    /// `  12.34%`, eight columns wide.
    private func percent(_ fraction: Double) -> String {
        let hundredths = Int((fraction * 10000).rounded())
        let text = "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)%"
        return String(repeating: " ", count: max(0, 7 - text.count)) + text
    }
}
