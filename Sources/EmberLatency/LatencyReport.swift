import EmberSession

/// Latency rows per process (and per thread), sorted by total wait, as text or as JSON.
public struct LatencyReport {
    public struct Row {
        public var key: LatencyKey
        public var pid: Int32
        /// nil for the whole process.
        public var tid: Int32?
        public var comm: String
        public var stats: LatencyStats
    }

    public var recording: String
    public var durationNs: UInt64
    public var lostEvents: UInt64
    /// Process rows, each followed by its thread rows when asked for.
    public private(set) var rows: [Row] = []

    /// Groups per-thread stats into process rows (threads of unknown process stand alone), keeps the processes
    /// `include` accepts, and orders processes by their total wait.
    public init(recording: String, durationNs: UInt64, lostEvents: UInt64, threads: [Int32: [LatencyKey: LatencyStats]],
                model: ProcessModel, perThread: Bool, top: Int?, include: (Int32, String) -> Bool) {
        self.recording = recording
        self.durationNs = durationNs
        self.lostEvents = lostEvents
        var byProcess: [Int32: [(tid: Int32, stats: [LatencyKey: LatencyStats])]] = [:]
        for (tid, stats) in threads { byProcess[model.thread(tid)?.pid ?? tid, default: []].append((tid, stats)) }
        var blocks: [(total: UInt64, rows: [Row])] = []
        for (pid, members) in byProcess {
            let comm = model.processName(pid, thread: members[0].tid)
            guard include(pid, comm) else { continue }
            var block: [Row] = []
            for key in Set(members.flatMap { $0.stats.keys }).sorted() {
                var total = LatencyStats()
                for m in members { if let s = m.stats[key] { total.add(s) } }
                block.append(Row(key: key, pid: pid, tid: nil, comm: comm, stats: total))
                guard perThread else { continue }
                for m in members.sorted(by: { $0.tid < $1.tid }) {
                    if let s = m.stats[key] { block.append(Row(key: key, pid: pid, tid: m.tid, comm: model.comm(tid: m.tid), stats: s)) }
                }
            }
            blocks.append((block.filter { $0.tid == nil }.reduce(0) { $0 &+ $1.stats.totalNs }, block))
        }
        blocks.sort { $0.total != $1.total ? $0.total > $1.total : ($0.rows.first?.pid ?? 0) < ($1.rows.first?.pid ?? 0) }
        rows = blocks.prefix(top ?? Int.max).flatMap(\.rows)
    }

    public func text(histograms: Bool) -> String {
        var out = "# \(recording): \(LatencyReport.duration(durationNs)) recorded, \(lostEvents) events lost\n"
        let header = ["", "count", "total", "average", "p50", "p90", "p99", "p99.9", "max", "unfinished", "errors"]
        var pid: Int32?
        for row in rows {
            if row.pid != pid {
                pid = row.pid
                out += "\n\(row.pid) \(row.comm)\n"
                out += LatencyReport.columns(header)
            }
            let s = row.stats
            let name = row.key.kind == .function ? String(row.key.name.split(separator: "/").last ?? "") : row.key.name
            let label = row.tid.map { "  \(name) \($0) \(row.comm)" } ?? name
            out += LatencyReport.columns([label, String(s.count), LatencyReport.duration(s.totalNs), LatencyReport.duration(s.averageNs),
                                          LatencyReport.duration(s.percentile(50)), LatencyReport.duration(s.percentile(90)),
                                          LatencyReport.duration(s.percentile(99)), LatencyReport.duration(s.percentile(99.9)),
                                          LatencyReport.duration(s.maxNs), String(s.unfinished),
                                          row.key.kind == .syscall ? String(s.errors) : ""])
            if histograms { out += LatencyReport.histogram(s) }
        }
        if rows.isEmpty { out += "\nno waits recorded for the chosen processes\n" }
        return out
    }

    public var json: String {
        func string(_ s: String) -> String {
            var out = "\""
            for u in s.unicodeScalars {
                switch u {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case _ where u.value < 0x20: out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
                default: out.unicodeScalars.append(u)
                }
            }
            return out + "\""
        }
        let items = rows.map { r -> String in
            let s = r.stats
            return "{\"kind\": \"\(r.key.kind.rawValue)\", \"name\": \(string(r.key.name)), \"pid\": \(r.pid), \"tid\": \(r.tid.map(String.init) ?? "null"), "
                + "\"comm\": \(string(r.comm)), \"count\": \(s.count), \"total_ns\": \(s.totalNs), \"p50_ns\": \(s.percentile(50)), "
                + "\"p90_ns\": \(s.percentile(90)), \"p99_ns\": \(s.percentile(99)), \"p999_ns\": \(s.percentile(99.9)), "
                + "\"max_ns\": \(s.maxNs), \"unfinished\": \(s.unfinished), \"errors\": \(s.errors), \"histogram\": ["
                + s.log2Buckets.map { "[\($0.lowNs), \($0.highNs), \($0.count)]" }.joined(separator: ", ") + "]}"
        }
        return "{\"recording\": \(string(recording)), \"duration_ns\": \(durationNs), \"lost_events\": \(lostEvents), \"rows\": [\n"
            + items.map { "  " + $0 }.joined(separator: ",\n") + "\n]}\n"
    }

    /// BCC's shape: `     usecs               : count     distribution`, then `low -> high : n |****   |`.
    static func histogram(_ stats: LatencyStats) -> String {
        let buckets = stats.log2Buckets
        guard let most = buckets.map(\.count).max(), most > 0 else { return "" }
        var out = "\n" + "usecs".leftPadded(15) + String(repeating: " ", count: 15) + ": count     distribution\n"
        for b in buckets {
            let stars = Int((Double(b.count) * 40 / Double(most)).rounded(.down))
            let bar = String(repeating: "*", count: stars) + String(repeating: " ", count: 40 - stars)
            out += String(b.lowNs / 1000).leftPadded(15) + " -> " + String(b.highNs / 1000).padding(toLength: 11)
                + ": " + String(b.count).padding(toLength: 9) + "|" + bar + "|\n"
        }
        return out + "\n"
    }

    private static func columns(_ cells: [String]) -> String {
        var line = cells[0].padding(toLength: 26)
        for cell in cells.dropFirst() { line += String(repeating: " ", count: max(1, 11 - cell.count)) + cell }
        return line + "\n"
    }

    /// A duration in the unit that reads best: ns, µs, ms or s, three significant digits.
    public static func duration(_ ns: UInt64) -> String {
        let units: [(Double, String)] = [(1e9, "s"), (1e6, "ms"), (1e3, "µs")]
        for (scale, unit) in units where Double(ns) >= scale {
            let v = Double(ns) / scale
            let digits = v >= 100 ? 0 : (v >= 10 ? 1 : 2)
            return format(v, digits) + " " + unit
        }
        return "\(ns) ns"
    }

    private static func format(_ v: Double, _ digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (v * scale).rounded()
        let whole = Int(scaled / scale), frac = Int(scaled) - whole * Int(scale)
        guard digits > 0 else { return String(whole) }
        let f = String(frac)
        return "\(whole)." + String(repeating: "0", count: digits - f.count) + f
    }
}

extension String {
    fileprivate func padding(toLength n: Int) -> String { count >= n ? self + " " : self + String(repeating: " ", count: n - count) }
    fileprivate func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
