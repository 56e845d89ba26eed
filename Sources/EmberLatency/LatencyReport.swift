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
    /// Measured in the kernel by a BPF program (no recording): `lostEvents` counts the waits its full maps dropped.
    public var measuredInKernel = false
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

    /// One table of every process (and, with `perThread`, its threads under it), sorted by total time, in 100
    /// columns at most: the wait (a kind, or a syscall's or function's name), its count and times, each time column in the
    /// one unit that suits its longest value; rows that measured nothing are left out, and the errors column is
    /// there only when syscalls are.
    public func text(histograms: Bool) -> String {
        var out = measuredInKernel
            ? "# measured in the kernel by a BPF program, nothing recorded: \(LatencyReport.duration(durationNs)), \(lostEvents) waits dropped\n"
            : "# \(recording): \(LatencyReport.duration(durationNs)) recorded, \(lostEvents) events lost\n"
        // Each process row with the rows of its threads after it, the process rows ordered by total time.
        var groups: [[Row]] = []
        for row in rows where row.stats.count > 0 {
            if row.tid == nil { groups.append([row]) } else if !groups.isEmpty { groups[groups.count - 1].append(row) }
        }
        groups.sort { $0[0].stats.totalNs != $1[0].stats.totalNs ? $0[0].stats.totalNs > $1[0].stats.totalNs : $0[0].pid < $1[0].pid }
        let shown = groups.flatMap { $0 }
        guard !shown.isEmpty else { return out + "\nno waits recorded for the chosen processes\n" }
        let times: [(String, (LatencyStats) -> UInt64)] = [("TOTAL", \.totalNs), ("AVG", \.averageNs), ("P50", { $0.percentile(50) }),
                                                           ("P99", { $0.percentile(99) }), ("MAX", \.maxNs)]
        let units = times.map { _, value in LatencyReport.unit(shown.map { value($0.stats) }.max() ?? 0) }
        let errors = shown.contains { $0.key.kind == .syscall }
        var header = "PROCESS".padding(toLength: 14) + "WAIT".padding(toLength: 24) + "COUNT".leftPadded(6)
        for ((name, _), unit) in zip(times, units) { header += "\(name) \(unit.name)".leftPadded(9) }
        header += "UNFIN".leftPadded(6) + (errors ? "ERR".leftPadded(5) : "")
        out += "\n" + header + "\n"
        for row in shown {
            let s = row.stats
            let who = row.tid.map { "  \($0) \(row.comm)" } ?? "\(row.pid) \(row.comm)"
            var line = LatencyReport.cut(who, 13).padding(toLength: 14) + LatencyReport.cut(LatencyReport.label(row.key), 23).padding(toLength: 24)
                + String(s.count).leftPadded(6)
            for ((_, value), unit) in zip(times, units) { line += unit.format(value(s)).leftPadded(9) }
            line += String(s.unfinished).leftPadded(6) + (errors && row.key.kind == .syscall ? String(s.errors).leftPadded(5) : "")
            out += line + "\n"
            if histograms { out += LatencyReport.histogram(s) }
        }
        return out
    }

    /// What a row measured, named as the flags name the kinds: `sched`, `offcpu`, `syscall read`, `func nap`.
    static func label(_ key: LatencyKey) -> String {
        switch key.kind {
        case .sched, .offcpu: return key.kind.rawValue
        case .syscall: return "syscall " + key.name
        case .function: return "func " + (key.name.split(separator: "/").last.map(String.init) ?? key.name)
        case .kfunction: return "kfunc " + key.name
        }
    }

    /// The unit a column of times reads best in: that of its longest value.
    static func unit(_ longest: UInt64) -> (name: String, format: (UInt64) -> String) {
        for (scale, name) in [(1e9, "s"), (1e6, "ms"), (1e3, "us")] where Double(longest) >= scale {
            return (name, { format(Double($0) / scale, 2) })
        }
        return ("ns", { String($0) })
    }

    private static func cut(_ text: String, _ width: Int) -> String {
        text.count <= width ? text : String(text.prefix(width - 1)) + "…"
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
        return "{\"recording\": \(measuredInKernel ? "null" : string(recording)), \"source\": \"\(measuredInKernel ? "bpf" : "events")\", \"duration_ns\": \(durationNs), \"lost_events\": \(lostEvents), \"rows\": [\n"
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
