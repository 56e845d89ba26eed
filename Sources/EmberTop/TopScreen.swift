import EmberAnnotate
import EmberRender
import EmberStacks

/// What `ember top` shows and how keys change it: the list of entries (each expandable to its callers), the help,
/// the filter prompt and an annotation. Pure state and text: `TopLoop` feeds it keys and snapshots and draws
/// what `render` returns.
public struct TopScreen {
    public enum Action: Equatable {
        case none, quit
        /// Open the annotation of this function (`TopModel.Entry.function`).
        case annotate(UInt64)
    }

    private enum Mode {
        case list, help
        case filter(String)
        case annotation(ScrollView)
        case annotating(name: String, function: UInt64)
    }

    /// One line of the list: an entry, or a line of an expanded entry's callers.
    private struct Line {
        var text: String
        var entry: TopModel.Entry?
    }

    public let keys: [ReportKey]
    /// What the header says is watched: `all, 2 CPUs` or `pid 1234`.
    public let scope: String
    public let rate: String
    public var snapshot: TopSnapshot?
    public var hideKernel = false
    public var hideUser = false
    public var zeroes = false
    /// A note on the last line until the next key (the recording ended, no annotation).
    public var status: String?
    private var mode = Mode.list
    private var filter = ""
    private var selected = 0
    private var top = 0
    /// Expanded entries, by their fields.
    private var expanded: Set<[String]> = []
    private var lines: [Line] = []

    public init(keys: [ReportKey], scope: String, rate: String) {
        self.keys = keys
        self.scope = scope
        self.rate = rate
    }

    /// An annotation arrived (or could not be made).
    public mutating func show(_ annotation: TopAnnotation) {
        guard case .annotating(_, let function) = mode, function == annotation.function else { return }
        switch annotation.outcome {
        case .lines(let lines, let hottest): mode = .annotation(ScrollView(lines: lines, selected: hottest))
        case .failed(let why):
            mode = .list
            status = why
        }
    }

    public mutating func handle(_ key: Key, rows: Int) -> Action {
        let page = max(1, rows - 4)
        switch mode {
        case .help:
            mode = .list
            return key == .interrupt ? .quit : .none
        case .annotating:
            if key == .interrupt { return .quit }
            if key == .escape || key == .left || key == .character("q") { mode = .list }
            return .none
        case .filter(var text):
            switch key {
            case .interrupt: return .quit
            case .escape: mode = .list
            case .enter:
                filter = text
                mode = .list
                selected = 0
                top = 0
            case .backspace:
                if !text.isEmpty { text.removeLast() }
                mode = .filter(text)
            case .character(let c):
                text.append(c)
                mode = .filter(text)
            default: break
            }
            return .none
        case .annotation(var view):
            if key == .interrupt { return .quit }
            mode = view.handle(key, rows: rows) ? .annotation(view) : .list
            return .none
        case .list:
            status = nil
            switch key {
            case .interrupt, .character("q"), .escape: return .quit
            case .character("?"), .character("h"): mode = .help
            case .character("/"): mode = .filter(filter)
            case .character("K"): hideKernel.toggle()
            case .character("U"): hideUser.toggle()
            case .character("z"): zeroes.toggle()
            case .up, .down, .pageUp, .pageDown, .home, .end:
                selected = key.moving(selected, page: page, count: lines.count)
            case .right, .character("+"), .character("e"):
                if let entry = selectedEntry {
                    if expanded.contains(entry.fields) { expanded.remove(entry.fields) } else { expanded.insert(entry.fields) }
                }
            case .enter:
                guard let entry = selectedEntry else { return .none }
                guard keys.contains(.symbol) else {
                    status = "an entry of several functions has no one annotation: sort by symbol (-s symbol) to annotate"
                    return .none
                }
                guard !entry.isKernel, let function = entry.function else {
                    status = entry.isKernel ? "kernel code cannot be annotated" : "this entry's function is not known; nothing to annotate"
                    return .none
                }
                mode = .annotating(name: entry.fields.last ?? "", function: function)
                return .annotate(function)
            default: break
            }
            selected = max(0, min(selected, lines.count - 1))
            return .none
        }
    }

    private var selectedEntry: TopModel.Entry? {
        lines.indices.contains(selected) ? lines[selected].entry : nil
    }

    /// The whole screen, `rows` by `columns`, as escape sequences and text.
    public mutating func render(rows: Int, columns: Int) -> String {
        var out = "\u{1b}[H"
        func put(_ text: String, highlight: Bool = false) { out += screenLine(text, columns: columns, highlight: highlight) }
        let body = max(1, rows - 4)
        switch mode {
        case .help:
            put(header)
            put(String(repeating: "-", count: columns))
            for line in TopScreen.help { put(line) }
            out += "\u{1b}[J"
            return out
        case .annotation(let view):
            return view.render(rows: rows, columns: columns, closing: "q or Left goes back")
        default:
            break
        }
        layOut(width: columns)
        selected = max(0, min(selected, lines.count - 1))
        if selected < top { top = selected }
        if selected >= top + body { top = selected - body + 1 }
        top = max(0, min(top, max(0, lines.count - body)))
        put(header)
        put(String(repeating: "-", count: columns))
        put(columnTitles)
        for i in top..<min(lines.count, top + body) { put(lines[i].text, highlight: i == selected) }
        out += "\u{1b}[J"
        let bottom: String
        switch mode {
        case .filter(let text): bottom = "filter: " + text + "_"
        case .annotating(let name, _): bottom = "annotating \(name)..."
        default: bottom = status ?? (filter.isEmpty ? "" : "[filter: \(filter)]  ") + "? keys  q quit  / filter  Enter annotate"
        }
        out += "\u{1b}[\(rows);1H" + String(bottom.prefix(columns)) + "\u{1b}[K"
        return out
    }

    /// The list as `perf top --stdio` prints each refresh: header, rule, column titles and the entries.
    public mutating func text(limit: Int) -> String {
        layOut(width: Int.max)
        var out = header + "\n" + String(repeating: "-", count: 79) + "\n\n" + columnTitles + "\n"
        for line in lines.prefix(limit) { out += line.text + "\n" }
        return out + "\n"
    }

    private var header: String {
        guard let s = snapshot else { return "   EmberTop: waiting for the first samples  [\(rate)]  (\(scope))" }
        return "   EmberTop: \(Int(s.samplesPerSecond.rounded())) samples/sec  kernel: \(percentText(s.kernelPercent / 100))%  lost: \(s.lost)"
            + (zeroes ? "  [zeroing]" : "") + "  [\(rate) \(s.eventName)]  (\(scope))"
    }

    private var columnTitles: String {
        "Overhead  " + zip(keys, widths).map { key, width in padded(key.title, width) }.joined(separator: "  ")
    }

    private var widths: [Int] = []

    /// The visible entries, hottest first, with their expanded callers, and the column widths.
    private mutating func layOut(width: Int) {
        guard let snapshot else { lines = []; return }
        let total = Double(max(snapshot.totalWeight, 1))
        let symbolColumn = keys.firstIndex(of: .symbol)
        let needle = filter.lowercased()
        let entries = snapshot.entries.filter { entry in
            if entry.isKernel ? hideKernel : hideUser { return false }
            return needle.isEmpty || entry.fields.contains { $0.lowercased().contains(needle) }
        }.sorted { $0.weight != $1.weight ? $0.weight > $1.weight : $0.fields.lexicographicallyPrecedes($1.fields) }
        widths = keys.indices.map { k in
            let title = keys[k].title.count
            return k == keys.count - 1 ? title : min(40, entries.prefix(200).map { $0.fields[k].count }.max().map { max($0, title) } ?? title)
        }
        lines = []
        for entry in entries {
            var columns: [String] = []
            for (k, field) in entry.fields.enumerated() {
                let value = k == symbolColumn ? (entry.isKernel ? "[k] " : "[.] ") + field : field
                columns.append(k == keys.count - 1 ? value : padded(value, widths[k]))
            }
            let share = percentText(Double(entry.weight) / total) + "%"
            lines.append(Line(text: String(repeating: " ", count: max(0, 8 - share.count)) + share + "  " + columns.joined(separator: "  "), entry: entry))
            guard expanded.contains(entry.fields) else { continue }
            appendCallers(entry.callers, depth: 1, total: total, entry: entry)
        }
    }

    private mutating func appendCallers(_ node: CallGraphNode, depth: Int, total: Double, entry: TopModel.Entry) {
        for child in node.children.sorted(by: { $0.weight > $1.weight }) where Double(child.weight) / total >= 0.0005 {
            lines.append(Line(text: String(repeating: "  ", count: depth + 4) + "\(percentText(Double(child.weight) / total))%  \(child.name)", entry: entry))
            if depth < 16 { appendCallers(child, depth: depth + 1, total: total, entry: entry) }
        }
    }

    static let help = [
        "Keys:",
        "  Up, Down, PgUp, PgDn, Home, End   move",
        "  Enter                             annotate the function (its hot lines and instructions)",
        "  Right, +, e                       show or hide the entry's callers (with -g)",
        "  /                                 filter by name (Enter applies, Esc cancels, empty clears)",
        "  K, U                              hide or show kernel, user-space entries",
        "  z                                 zero the counts at each refresh instead of decaying them",
        "  ?, h                              this help (any key closes it)",
        "  q, Esc, Ctrl-C                    quit (in an annotation: q, Esc or Left goes back)",
    ]
}
