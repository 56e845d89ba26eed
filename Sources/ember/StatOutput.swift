import EmberRecord
#if canImport(Glibc)
import Glibc
#endif

/// What `ember stat` prints, in perf stat's three shapes: its human layout, `-x SEP` (CSV) and `-j` (JSON lines);
/// for one run, the mean of `-r N` runs with their spread, each `-I` interval, or each thread (`--per-thread`).
struct StatOutput {
    enum Format {
        case human
        case separated(String)
        case json
    }

    /// One event's line: a count (the mean, over several runs) and what perf derives from it.
    struct Row {
        var name: String
        var value: Double
        var isClock: Bool
        var supported: Bool
        /// The share of the time the counter ran; 0 when it never did.
        var running: Double
        var runningNs: UInt64
        /// The spread over runs, as perf gives it: the standard deviation of the mean, in percent of the mean.
        var spread: Double?

        /// The rows of one run's counts, or the means of several runs'.
        static func rows(_ runs: [[Counter.Count]]) -> [Row] {
            guard let first = runs.first else { return [] }
            return first.indices.map { i in
                let counts = runs.map { $0[i] }
                let values = counts.map { Double($0.value) }
                let c = counts[0]
                return Row(name: c.name, value: values.reduce(0, +) / Double(values.count), isClock: c.isClock,
                           supported: c.supported, running: counts.map(\.running).min() ?? 0,
                           runningNs: counts.map(\.runningNs).reduce(0, +) / UInt64(counts.count),
                           spread: runs.count > 1 ? StatOutput.relativeSpread(values) : nil)
            }
        }
    }

    var format: Format
    /// Seconds the counts cover (the clock rows' CPUs utilized), and the clock's busy seconds (the rates).
    var elapsed: Double

    /// perf's spread: sqrt(variance / n) as a percentage of the mean.
    static func relativeSpread(_ values: [Double]) -> Double {
        let n = Double(values.count)
        guard n > 1 else { return 0 }
        let mean = values.reduce(0, +) / n
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
        return mean == 0 ? 0 : 100 * (variance / n).squareRoot() / mean
    }

    /// A row's derived metric: CPUs utilized for a clock, otherwise its rate per second of busy clock time, scaled
    /// to K/M/G as perf scales it.
    func metric(_ row: Row, busySeconds: Double) -> (value: Double, unit: String)? {
        guard row.supported, row.running > 0 else { return nil }
        if row.isClock { return (elapsed > 0 ? row.value / 1e9 / elapsed : 0, "CPUs utilized") }
        var rate = busySeconds > 0 ? row.value / busySeconds : 0
        var unit = "/sec"
        for prefix in ["K", "M", "G"] where rate >= 1000 {
            rate /= 1000
            unit = prefix + "/sec"
        }
        return (rate, unit)
    }

    /// Every row's line, each prefixed (an interval's time, a thread's name) where `prefix` is given.
    func lines(_ rows: [Row], prefix: String? = nil) -> String {
        let clock = rows.first { $0.isClock && $0.supported && $0.running > 0 }
        let busySeconds = clock.map { $0.value / 1e9 } ?? elapsed
        var text = ""
        for row in rows {
            let metric = metric(row, busySeconds: busySeconds)
            let counter = !row.supported ? "<not supported>" : row.running == 0 ? "<not counted>"
                : row.isClock ? fixed(row.value / 1e6, 2) : fixed(row.value, 0)
            let unit = row.isClock ? "msec" : ""
            // perf says 100% running for what it could not count at all.
            let percent = fixed(row.supported ? row.running * 100 : 100, 2)
            switch format {
            case .human:
                var line = (prefix ?? "") + right(counter, 18) + " " + left(unit, 4) + " " + row.name
                if let metric {
                    line = left(line, (prefix?.count ?? 0) + 56) + " # " + right(fixed(metric.value, 3), 8) + " " + metric.unit
                }
                if let spread = row.spread, row.supported { line += "  ( +-" + right(fixed(spread, 2), 6) + "% )" }
                if row.running > 0 && row.running < 0.999 { line += "  (" + fixed(row.running * 100, 2) + "%)" }
                text += line + "\n"
            case .separated(let separator):
                var fields = (prefix.map { [$0] } ?? []) + [counter, unit, row.name]
                if let spread = row.spread { fields.append(fixed(spread, 2) + "%") }
                fields += [String(row.runningNs), percent, metric.map { fixed($0.value, 3) } ?? "", metric?.unit ?? ""]
                text += fields.joined(separator: separator) + "\n"
            case .json:
                var fields: [String] = []
                if let prefix { fields.append(prefix) }
                fields.append("\"counter-value\" : " + quoted(row.supported && row.running > 0 ? fixed(row.isClock ? row.value / 1e6 : row.value, 6) : counter))
                fields.append("\"unit\" : " + quoted(unit))
                fields.append("\"event\" : " + quoted(row.name))
                if let spread = row.spread { fields.append("\"variance\" : " + fixed(spread, 2)) }
                fields.append("\"event-runtime\" : \(row.runningNs)")
                fields.append("\"pcnt-running\" : " + percent)
                fields.append("\"metric-value\" : " + fixed(metric?.value ?? 0, 6))
                fields.append("\"metric-unit\" : " + quoted(metric?.unit ?? ""))
                text += "{" + fields.joined(separator: ", ") + "}\n"
            }
        }
        return text
    }

    /// The whole report of a run (or of `runs` runs): perf stat's heading, the rows, elapsed, user and sys times.
    /// CSV and JSON give the rows alone, as perf's do.
    func report(_ results: [Counter.Result], subject: String, perThread: Bool) -> String {
        guard let result = results.first else { return "" }
        var body = ""
        if perThread {
            for thread in result.threads {
                let name = "\(thread.comm)-\(thread.tid)"
                let rows = Row.rows([thread.counts])
                switch format {
                // perf's `%16s-%-8d`.
                case .human: body += lines(rows, prefix: right(thread.comm, 16) + "-" + left(String(thread.tid), 8))
                case .separated: body += lines(rows, prefix: name)
                case .json: body += lines(rows, prefix: "\"thread\" : " + quoted(name))
                }
            }
        } else {
            body = lines(Row.rows(results.map(\.counts)))
        }
        guard case .human = format else { return body }
        let runs = results.count > 1 ? " (\(results.count) runs)" : ""
        var text = "\n Performance counter stats for '\(subject)'\(runs):\n\n" + body + "\n"
        if results.count > 1 {
            let times = results.map(\.seconds)
            let mean = times.reduce(0, +) / Double(times.count)
            let deviation = mean * StatOutput.relativeSpread(times) / 100
            text += right(fixed(mean, 9), 18) + " +- " + fixed(deviation, 9) + " seconds time elapsed  ( +-" + right(fixed(StatOutput.relativeSpread(times), 2), 6) + "% )\n\n"
        } else {
            text += right(fixed(result.seconds, 9), 18) + " seconds time elapsed\n\n"
            if let user = result.userSeconds, let system = result.systemSeconds {
                text += right(fixed(user, 9), 18) + " seconds user\n" + right(fixed(system, 9), 18) + " seconds sys\n\n"
            }
        }
        return text
    }

    /// One `-I` interval's lines, each starting with the time since the start (perf's `#  time  counts unit events`
    /// heading first, in the human layout).
    func interval(_ result: Counter.Result, first: Bool) -> String {
        let time = fixed(result.seconds, 9)
        switch format {
        case .human:
            return (first ? "#           time             counts unit events\n" : "") + lines(Row.rows([result.counts]), prefix: right(time, 16))
        case .separated:
            return lines(Row.rows([result.counts]), prefix: time)
        case .json:
            return lines(Row.rows([result.counts]), prefix: "\"interval\" : " + time)
        }
    }

    private func right(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
    private func left(_ s: String, _ width: Int) -> String { s + String(repeating: " ", count: max(0, width - s.count)) }
    private func quoted(_ s: String) -> String {
        var out = "\""
        for c in s {
            if c == "\"" || c == "\\" { out.append("\\") }
            out.append(c)
        }
        return out + "\""
    }

    /// `value` with `decimals` digits after the point, rounded; no exponent, whatever the size.
    private func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite, value.magnitude < 1.8e19 else { return "0" }
        // The whole part and the fraction apart, so that counts past 2^63 / 10^decimals keep their digits.
        let unit = pow(10, Double(decimals))
        var whole = value.magnitude.rounded(.towardZero)
        var fraction = ((value.magnitude - whole) * unit).rounded()
        if fraction >= unit { whole += 1; fraction = 0 }
        let sign = value < 0 && (whole > 0 || fraction > 0) ? "-" : ""
        guard decimals > 0 else { return sign + String(UInt64(whole)) }
        let digits = String(UInt64(fraction))
        return sign + String(UInt64(whole)) + "." + String(repeating: "0", count: decimals - digits.count) + digits
    }
}
