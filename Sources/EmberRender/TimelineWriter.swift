import EmberReplay
import EmberStacks

/// `ember script --summary`: where in the recording each process was sampled, as one text sparkline a process
/// (samples per column of time, on one scale for all), with the time axis in seconds from the start, so that
/// `--time START,STOP` can pick the part worth reading.
public struct TimelineWriter {
    /// Columns across the recording, and the busiest processes shown.
    public var columns = 60
    public var top = 20

    public init() {}

    private static let bars: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    public func render(_ replay: Replay) -> String {
        guard let span = replay.sampleSpan else { return "# no samples\n" }
        let length = max(span.last - span.first, 1)
        var counts: [Int32: [Int]] = [:]
        var names: [Int32: String] = [:]
        let model = replay.model
        replay.forEachSample(event: nil) { sample, _ in
            // In Double: a corrupt file's span would overflow the product. A sample outside the span (a noted span
            // that does not cover it, an event without times) goes to the nearest edge, converted once it fits.
            let position = sample.time <= span.first ? 0 : Double(sample.time - span.first) / Double(length) * Double(columns)
            let column = position < Double(columns - 1) ? Int(position) : columns - 1
            counts[sample.pid, default: [Int](repeating: 0, count: columns)][column] += 1
            if names[sample.pid] == nil { names[sample.pid] = model.processName(sample.pid, thread: sample.tid) }
        }
        struct Row { var pid: Int32; var counts: [Int]; var total: Int }
        var rows: [Row] = counts.map { Row(pid: $0.key, counts: $0.value, total: $0.value.reduce(0, +)) }
        rows.sort { $0.total != $1.total ? $0.total > $1.total : $0.pid < $1.pid }
        let peak = max(1, rows.map { $0.counts.max() ?? 0 }.max() ?? 1)
        let seconds = Double(length) / 1e9
        let columnSeconds = seconds / Double(columns)
        let labels: [String] = rows.prefix(top).map { (names[$0.pid] ?? "?") + " " + String($0.pid) }
        let width = labels.map { $0.count }.max() ?? 0
        let start = format(Double(span.first) / 1e9, decimals: 6)
        let rate = format(Double(peak) / columnSeconds)
        var text = "# " + format(seconds) + " s of samples from " + start + ", \(columns) columns of " + format(columnSeconds * 1000)
        text += " ms; the tallest bar is \(peak) samples (" + rate + " a second)\n"
        for (row, label) in zip(rows.prefix(top), labels) {
            let line = row.counts.map { n -> Character in
                n == 0 ? " " : TimelineWriter.bars[min(7, (n * 8 - 1) / peak)]
            }
            text += label + String(repeating: " ", count: width - label.count) + "  |" + String(line) + "|  \(row.total)\n"
        }
        if rows.count > top {
            let rest = rows.dropFirst(top).reduce(0) { $0 + $1.total }
            text += "# \(rows.count - top) more processes, \(rest) samples\n"
        }
        // The axis: seconds from the start under the first, middle and last columns.
        let middle = format(seconds / 2), end = format(seconds)
        var axis = [Character](repeating: " ", count: columns)
        let marks: [(Int, String)] = [(0, "0"), (columns / 2 - middle.count / 2, middle), (columns - end.count, end)]
        for (offset, label) in marks {
            for (i, c) in label.enumerated() where offset + i < columns { axis[offset + i] = c }
        }
        text += String(repeating: " ", count: width) + "   " + String(axis) + "   s from the start (--time START,STOP)\n"
        return text
    }

    private func format(_ value: Double, decimals: Int = 2) -> String {
        SVGWriter.fixed(value, decimals: decimals, trim: true)
    }
}
