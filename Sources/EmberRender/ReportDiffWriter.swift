import EmberReplay
import EmberStacks

/// `ember report --diff BEFORE AFTER`: per entry (the sort keys' combination), its Children and Self shares in each
/// recording and the change in percentage points, the largest changes first, like `perf diff` but with Ember's
/// symbols.
public struct ReportDiffWriter {
    public var limit: Int?
    /// Entries whose shares stay under this percentage in both recordings are left out.
    public var percentLimit = 0.0

    public init() {}

    public func render(before: ReportModel, after: ReportModel, beforeName: String, afterName: String) -> String {
        struct Row {
            var fields: [String]
            var isKernel: Bool
            /// BEFORE's and AFTER's shares, in percent.
            var childrenShares = (0.0, 0.0)
            var selfShares = (0.0, 0.0)
        }
        let children = after.options.children
        var rows: [[String]: Row] = [:]
        func add(_ model: ReportModel, side: Int) {
            let total = Double(max(model.totalWeight, 1))
            for entry in model.entries {
                var row = rows[entry.fields] ?? Row(fields: entry.fields, isKernel: entry.isKernel)
                let c = Double(entry.childrenWeight) / total * 100, s = Double(entry.selfWeight) / total * 100
                if side == 0 { row.childrenShares.0 = c; row.selfShares.0 = s } else { row.childrenShares.1 = c; row.selfShares.1 = s }
                rows[entry.fields] = row
            }
        }
        add(before, side: 0)
        add(after, side: 1)
        func key(_ r: Row) -> (Double, Double) { children ? r.childrenShares : r.selfShares }
        var sorted = rows.values.filter { max(key($0).0, key($0).1) >= percentLimit && max(key($0).0, key($0).1) > 0 }
        sorted.sort {
            let a = abs(key($0).1 - key($0).0), b = abs(key($1).1 - key($1).0)
            return a != b ? a > b : $0.fields.lexicographicallyPrecedes($1.fields)
        }
        if let limit { sorted = Array(sorted.prefix(limit)) }

        let keys = after.options.keys
        var widths = keys.map { $0.title.count }
        for row in sorted {
            for (i, f) in row.fields.enumerated() { widths[i] = max(widths[i], f.count + (keys[i] == .symbol ? 4 : 0)) }
        }
        var lines = [
            "# Event '\(after.eventName)': BEFORE \(beforeName) (\(before.sampleCount) samples), AFTER \(afterName) (\(after.sampleCount) samples)",
            "# Shares of each recording's samples; the change in percentage points, largest first.",
            "#",
        ]
        let names = (children ? "    before     after    change" : "") + "    before     after    change"
        var heading = "#" + names
        for (i, key) in keys.enumerated() { heading += "  " + (i == keys.count - 1 ? key.title : padded(key.title, widths[i])) }
        lines.append(children ? "#" + "  ---------- Children ---------  ------------ Self -----------" : "#  ------------ Self -----------")
        lines.append(heading)
        lines.append("#")
        for row in sorted {
            var line = " "
            if children { line += share(row.childrenShares.0) + share(row.childrenShares.1) + change(row.childrenShares) }
            line += share(row.selfShares.0) + share(row.selfShares.1) + change(row.selfShares)
            for (i, field) in row.fields.enumerated() {
                let text = keys[i] == .symbol ? (row.isKernel ? "[k] " : "[.] ") + field : field
                line += "  " + (i == row.fields.count - 1 ? text : padded(text, widths[i]))
            }
            lines.append(line)
        }
        lines.append("")
        return lines.joined(separator: "\n")
    }

    private func share(_ value: Double) -> String { leftPad(SVGWriter.fixed(value, decimals: 2, trim: false) + "%", 10) }

    private func change(_ pair: (Double, Double)) -> String {
        let d = pair.1 - pair.0
        let text = (d >= 0.005 ? "+" : d <= -0.005 ? "-" : " ") + SVGWriter.fixed(abs(d), decimals: 2, trim: false)
        return leftPad(text, 10)
    }

    private func leftPad(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
}
