import EmberReplay
import EmberStacks

/// The `perf report --stdio` text: a header, one row per entry with Children and Self percentages (or one
/// Overhead column) and the sort keys' columns, and with call graphs a tree under each row.
public struct ReportWriter {
    /// Rows below this share of the total are left out.
    public var percentLimit = 0.0
    /// Call-graph branches below this share of the total are left out (perf's `-g graph,0.5`).
    public var callGraphLimit = 0.5
    public var limit: Int?
    /// Lines are cut to this many characters (the terminal's width), when set.
    public var width: Int?
    public var lostSamples: UInt64 = 0
    /// `--time` as given, which the header names as perf's does (`(time slices: 10%/3)`).
    public var timeSlices: String?
    /// Frame-pointer stacks recorded with a stack copy (`-g`), and those whose leaf's callers were put back from it.
    public var leafRepairs: (repaired: Int, of: Int) = (0, 0)
    /// DWARF stacks that went on into the thread's stack tail (and reached their root there), of those unwound,
    /// and those whose tail was refused.
    public var stackTails: (extended: Int, completed: Int, refused: Int, of: Int) = (0, 0, 0, 0)
    /// Stacks shown with their awaiting Swift async callers, and stacks in async code whose chains did not validate.
    public var asyncStacks: (shown: Int, refused: Int) = (0, 0)
    /// A Samples column after the percentages (perf's `-n`).
    public var sampleCounts = false

    public init() {}

    public func render(_ model: ReportModel) -> String {
        let total = Double(max(model.totalWeight, 1))
        let children = model.options.children
        let weight = { (e: ReportModel.Entry) in children ? e.childrenWeight : e.selfWeight }
        var rows = model.entries.filter { Double(weight($0)) / total * 100 >= percentLimit && weight($0) > 0 }
        rows.sort {
            if weight($0) != weight($1) { return weight($0) > weight($1) }
            if $0.selfWeight != $1.selfWeight { return $0.selfWeight > $1.selfWeight }
            return $0.fields.lexicographicallyPrecedes($1.fields)
        }
        if let limit { rows = Array(rows.prefix(limit)) }

        let keys = model.options.keys
        let titles = keys.map(\.title)
        var widths = titles.map(\.count)
        for row in rows {
            for (i, field) in row.fields.enumerated() {
                widths[i] = max(widths[i], field.count + (keys[i] == .symbol ? 4 : 0))
            }
        }
        var lines: [String] = [
            "# Total Lost Samples: \(lostSamples)",
            "#",
            "# Samples: \(model.sampleCount) of event '\(model.eventName)'" + (timeSlices.map { " (time slices: \($0))" } ?? ""),
            "# Event count (approx.): \(model.totalWeight)",
            "#",
        ]
        if leafRepairs.of > 0 {
            lines.insert("# Frame-pointer stacks whose leaf's callers were put back from the stack copy: \(leafRepairs.repaired) of \(leafRepairs.of)", at: lines.count - 1)
        }
        if stackTails.extended + stackTails.refused > 0 {
            lines.insert("# DWARF stacks continued past their copy into the rest of the thread's stack: \(stackTails.extended) of \(stackTails.of) (\(stackTails.completed) to their root; \(stackTails.refused) tails refused)", at: lines.count - 1)
        }
        if asyncStacks.shown + asyncStacks.refused > 0 {
            lines.insert("# Swift async stacks with their awaiting callers: \(asyncStacks.shown) (\(asyncStacks.refused) in async code whose chains did not validate, shown as sampled)", at: lines.count - 1)
        }
        var percentHeader = children ? "Children      Self" : "Overhead"
        var dots = children ? "........  ........" : "........"
        if sampleCounts {
            percentHeader += "  " + leftPad("Samples", 12)
            dots += "  " + String(repeating: ".", count: 12)
        }
        lines.append("# " + percentHeader + zip(titles, widths).enumerated().map { i, column in
            "  " + (i == titles.count - 1 ? column.0 : padded(column.0, column.1))
        }.joined())
        lines.append("# " + dots + widths.map { "  " + String(repeating: ".", count: $0) }.joined())
        lines.append("#")
        for row in rows {
            var line = children ? "  " + percent(Double(row.childrenWeight) / total) + "  " : "  "
            line += percent(Double(row.selfWeight) / total)
            if sampleCounts { line += "  " + leftPad(String(children ? row.childrenSamples : row.selfSamples), 12) }
            for (i, field) in row.fields.enumerated() {
                let text = keys[i] == .symbol ? (row.isKernel ? "[k] " : "[.] ") + field : field
                line += "  " + (i == row.fields.count - 1 ? text : padded(text, widths[i]))
            }
            lines.append(line)
            if model.options.callGraph != nil,
               row.graph.children.contains(where: { Double($0.weight) / total * 100 >= branchLimit }) {
                lines.append("            |")
                if children {
                    lines.append("            ---" + (keys.contains(.symbol) ? row.fields[keys.firstIndex(of: .symbol)!] : "all"))
                    graph(row.graph, prefix: "               ", total: total, into: &lines)
                } else if row.graph.children.count == 1, let only = row.graph.children.first {
                    // Self: the entry's whole stacks, one chain from its first frame as perf prints it.
                    lines.append("            ---" + only.name)
                    graph(only, prefix: "               ", total: total, into: &lines)
                } else {
                    graph(row.graph, prefix: "            ", total: total, into: &lines, barFirst: false)
                }
                lines.append("")
            }
        }
        lines.append("")
        guard let width, width > 20 else { return lines.joined(separator: "\n") }
        return lines.map { $0.count > width ? String($0.prefix(width)) : $0 }.joined(separator: "\n")
    }

    /// Branches are cut at the call graph's limit or the rows', whichever is higher.
    private var branchLimit: Double { max(callGraphLimit, percentLimit) }

    /// One branch per child with its share of the total, each after a `|` line (but the first, under an entry's own
    /// `|`, with `barFirst` off), its chain indented under it by eleven columns; a single child that carries all of
    /// its parent's weight continues the chain on the next line without a new branch, as perf prints call chains.
    private func graph(_ node: CallGraphNode, prefix: String, total: Double, into lines: inout [String], barFirst: Bool = true) {
        let kept = node.children
            .filter { Double($0.weight) / total * 100 >= branchLimit }
            .sorted { $0.weight != $1.weight ? $0.weight > $1.weight : $0.name < $1.name }
        if kept.count == 1, kept[0].weight == node.weight {
            lines.append(prefix + kept[0].name)
            graph(kept[0], prefix: prefix, total: total, into: &lines)
            return
        }
        for (i, child) in kept.enumerated() {
            let last = i == kept.count - 1
            if i > 0 || barFirst { lines.append(prefix + "|") }
            lines.append(prefix + (last ? " --" : "|--") + String(percent(Double(child.weight) / total).drop { $0 == " " }) + "--" + child.name)
            graph(child, prefix: prefix + (last ? " " : "|") + "          ", total: total, into: &lines)
        }
    }

    private func leftPad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }

    /// ` 12.34%`, eight columns wide.
    private func percent(_ fraction: Double) -> String {
        let text = percentText(fraction) + "%"
        return String(repeating: " ", count: max(0, 8 - text.count)) + text
    }
}
