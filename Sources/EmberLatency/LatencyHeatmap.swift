import EmberKernel
#if canImport(Glibc)
import Glibc
#endif

/// A latency heat map: time across, log2 latency buckets up, colour the number of waits that ended there — the
/// picture that shows bimodal latency and periodic stalls a table hides. Counts are kept per 10 ms and per
/// log2 µs bucket, so memory follows the recording's length, not its event count.
public struct LatencyHeatmap {
    public let kind: LatencyKind
    private var cells: [UInt64: [Int: UInt64]] = [:]
    private var firstTime = UInt64.max
    private var lastTime: UInt64 = 0
    private static let slice: UInt64 = 10_000_000

    public init(kind: LatencyKind) { self.kind = kind }

    /// A wait of `ns` that ended at `time`.
    public mutating func add(time: UInt64, ns: UInt64) {
        firstTime = min(firstTime, time)
        lastTime = max(lastTime, time)
        cells[time / LatencyHeatmap.slice, default: [:]][LatencyHeatmap.bucket(ns), default: 0] += 1
    }

    /// log2 of the latency in µs: 0 for under 2 µs, 1 for 2-3 µs, 2 for 4-7 µs, ...
    static func bucket(_ ns: UInt64) -> Int {
        let us = ns / 1000
        return us < 2 ? 0 : 63 - us.leadingZeroBitCount
    }

    /// One self-contained SVG: a cell per (column, bucket) with a hover title (time range, latency range, count).
    /// Dragging across the map selects a time range and shows `command` with that range as `--time START,STOP`
    /// (absolute, as perf script prints times, so that it selects exactly what was dragged over).
    public func svg(title: String, command: String) -> String {
        let width = 1000.0, height = 480.0, left = 112.0, bottom = 40.0, top = 50.0
        guard firstTime <= lastTime else {
            return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"120\"><text x=\"20\" y=\"60\">\(escape(title)): no waits recorded</text></svg>\n"
        }
        let firstSlice = firstTime / LatencyHeatmap.slice, slices = Int(lastTime / LatencyHeatmap.slice - firstSlice) + 1
        // At most 200 columns, each a whole number of slices, and no more columns than the waits span: the axis
        // ends with the last wait, not up to twice as far.
        let perColumn = (slices + 199) / 200, columns = (slices + perColumn - 1) / perColumn
        var grid: [Int: [Int: UInt64]] = [:]
        var maxBucket = 0
        for (slice, buckets) in cells {
            let column = Int(slice - firstSlice) / perColumn
            for (bucket, count) in buckets {
                grid[column, default: [:]][bucket, default: 0] += count
                maxBucket = max(maxBucket, bucket)
            }
        }
        let most = grid.values.flatMap(\.values).max() ?? 1
        let waits = grid.values.flatMap(\.values).reduce(0, +)
        let rows = maxBucket + 1
        let cellWidth = (width - left - 20) / Double(columns), cellHeight = (height - top - bottom) / Double(rows)
        var out = """
            <?xml version="1.0" standalone="no"?>
            <svg version="1.1" width="\(Int(width))" height="\(Int(height))" xmlns="http://www.w3.org/2000/svg" font-family="Verdana, DejaVu Sans, Liberation Sans, Arial, sans-serif" font-size="11">
            <rect width="100%" height="100%" fill="#ffffff"/>
            <text x="\(Int(width / 2))" y="24" text-anchor="middle" font-size="16">\(escape(title)): \(waits) wait\(waits == 1 ? "" : "s") over \(format(Double(lastTime - firstTime) / 1e9)) s</text>
            <text x="\(Int(width / 2))" y="\(Int(height - 8))" text-anchor="middle">time in the recording (s)</text>
            <text x="16" y="\(Int(top + (height - top - bottom) / 2))" transform="rotate(-90 16 \(Int(top + (height - top - bottom) / 2)))" text-anchor="middle">latency</text>

            """
        let secondsPerColumn = Double(perColumn) * Double(LatencyHeatmap.slice) / 1e9
        for row in 0..<rows {
            let y = top + Double(rows - 1 - row) * cellHeight
            out += "<text x=\"\(Int(left - 6))\" y=\"\(Int(y + cellHeight / 2 + 4))\" text-anchor=\"end\">\(LatencyHeatmap.label(row))</text>\n"
        }
        // Ticks at round times (0.1 s, 0.2 s, 0.5 s, 1 s, ...), at most ten of them, up to the axis's end.
        let span = Double(columns) * secondsPerColumn
        let step = max(timeAxisStep(span), 0.01)  // the labels have two decimals
        for tick in stride(from: 0.0, through: span, by: step) {
            let x = left + tick / secondsPerColumn * cellWidth
            out += "<text x=\"\(Int(x))\" y=\"\(Int(height - bottom + 14))\" text-anchor=\"middle\">\(format(tick))</text>\n"
        }
        // The colour scale: the count each shade stands for, from one wait to the busiest cell's.
        out += "<text x=\"\(Int(width - 20))\" y=\"38\" text-anchor=\"end\">waits in a cell:"
        let marks = Array(Set([1, most / 100, most / 10, most].filter { $0 >= 1 })).sorted()
        out += marks.map { " \($0)" }.joined() + "</text>\n"
        for (i, mark) in marks.reversed().enumerated() {
            out += "<rect x=\"\(Int(width - 20 - Double(i + 1) * 14))\" y=\"42\" width=\"12\" height=\"6\" fill=\"\(LatencyHeatmap.fill(mark, most: most))\"/>\n"
        }
        for (column, buckets) in grid.sorted(by: { $0.key < $1.key }) {
            for (bucket, count) in buckets.sorted(by: { $0.key < $1.key }) {
                let x = left + Double(column) * cellWidth, y = top + Double(rows - 1 - bucket) * cellHeight
                let from = Double(column) * secondsPerColumn
                out += "<rect x=\"\(format(x))\" y=\"\(format(y))\" width=\"\(format(cellWidth))\" height=\"\(format(cellHeight))\" fill=\"\(LatencyHeatmap.fill(count, most: most))\">"
                out += "<title>\(format(from))-\(format(from + secondsPerColumn)) s, \(LatencyHeatmap.label(bucket)): \(count) wait\(count == 1 ? "" : "s")</title></rect>\n"
            }
        }
        out += "<rect id=\"selection\" x=\"\(Int(left))\" y=\"\(Int(top))\" width=\"0\" height=\"\(Int(height - top - bottom))\" fill=\"rgba(40,90,200,0.25)\" stroke=\"rgb(40,90,200)\" visibility=\"hidden\" pointer-events=\"none\"/>\n"
        out += "<text id=\"command\" x=\"\(Int(left))\" y=\"42\">drag across the map to select a time range</text>\n"
        let origin = Double(firstSlice * LatencyHeatmap.slice) / 1e9
        out += "<script type=\"text/ecmascript\"><![CDATA[\nvar LEFT = \(format(left)), RIGHT = \(format(left + Double(columns) * cellWidth)), "
        out += "SECONDS_PER_PIXEL = \(secondsPerColumn / cellWidth), ORIGIN = \(origin), COMMAND = \(jsonStringLiteral(command));\n"
        return out + LatencyHeatmap.selectionScript + "]]></script>\n</svg>\n"
    }

    /// Click-drag selection over the plot: a shaded band while dragging; on release, the command for that range.
    static let selectionScript = #"""
(function () {
  var svg = document.documentElement, band = document.getElementById("selection"), text = document.getElementById("command");
  var start = null;
  function at(e) {
    var p = svg.createSVGPoint();
    p.x = e.clientX; p.y = e.clientY;
    return Math.max(LEFT, Math.min(RIGHT, p.matrixTransform(svg.getScreenCTM().inverse()).x));
  }
  function show(a, b) {
    band.setAttribute("x", Math.min(a, b).toFixed(1));
    band.setAttribute("width", Math.abs(b - a).toFixed(1));
  }
  svg.addEventListener("mousedown", function (e) {
    start = at(e);
    show(start, start);
    band.setAttribute("visibility", "visible");
    e.preventDefault();
  });
  svg.addEventListener("mousemove", function (e) { if (start !== null) show(start, at(e)); });
  svg.addEventListener("mouseup", function (e) {
    if (start === null) return;
    var a = Math.min(start, at(e)), b = Math.max(start, at(e));
    start = null;
    if (b - a < 2) { band.setAttribute("visibility", "hidden"); return; }
    var from = ORIGIN + (a - LEFT) * SECONDS_PER_PIXEL, to = ORIGIN + (b - LEFT) * SECONDS_PER_PIXEL;
    text.textContent = COMMAND + " --time " + from.toFixed(6) + "," + to.toFixed(6);
  });
})();
"""#

    /// Logarithmic colour: one wait is pale, the busiest cell deep red.
    static func fill(_ count: UInt64, most: UInt64) -> String {
        let share = log(Double(count) + 1) / log(Double(max(most, 1)) + 1)
        return "rgb(250,\(Int(230 - 200 * share)),\(Int(200 - 190 * share)))"
    }

    /// A bucket's latency range: `1-2 ms`, `4-8 µs`.
    static func label(_ bucket: Int) -> String {
        let low = bucket == 0 ? 0 : UInt64(1) << UInt64(bucket), high = UInt64(1) << UInt64(bucket + 1)
        func unit(_ us: UInt64) -> String { us >= 1_000_000 ? "\(us / 1_000_000) s" : (us >= 1000 ? "\(us / 1000) ms" : "\(us) µs") }
        return "\(unit(low))-\(unit(high))"
    }

    private func format(_ v: Double) -> String { String(Double(Int(v * 100)) / 100) }

    private func escape(_ s: String) -> String {
        s.replacingAll("&", "&amp;").replacingAll("<", "&lt;").replacingAll(">", "&gt;").replacingAll("\"", "&quot;")
    }
}

extension String {
    fileprivate func replacingAll(_ a: Character, _ b: String) -> String {
        var out = ""
        for c in self { if c == a { out += b } else { out.append(c) } }
        return out
    }
}
