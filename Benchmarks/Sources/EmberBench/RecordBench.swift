// Benchmarks 2 and 3: the cost of recording, and how fast the ring is drained.

import Foundation

// MARK: - 2. Recording overhead at -F 999 -g

func benchOverhead(_ ctx: Context) {
    ctx.section("2. recording overhead, -F 999 -g on `demo 2` (\(ctx.runs) runs each)")
    let perfFile = ctx.path("overhead-perf.data")
    let emberFile = ctx.path("overhead-ember.data")

    let bare = ctx.attempt("bare demo") {
        try measure("bare demo", [ctx.demo, "2"], runs: ctx.runs, stderrPath: ctx.stderrPath)
    }
    let perf = ctx.attempt("perf record") {
        try measure("perf record", [ctx.perf, "record", "-F", "999", "-g", "-o", perfFile, "--", ctx.demo, "2"],
                    runs: ctx.runs, stderrPath: ctx.stderrPath, prepare: { ctx.remove(perfFile) })
    }
    // perf 6.1 keeps a BPF side-band thread that polls with a 1 s timeout,
    // which adds up to ~1 s at exit; --no-bpf-event shows perf without it.
    let perfNoBPF = ctx.attempt("perf record --no-bpf-event") {
        try measure("perf --no-bpf", [ctx.perf, "record", "--no-bpf-event", "-F", "999", "-g", "-o", perfFile,
                                      "--", ctx.demo, "2"],
                    runs: ctx.runs, stderrPath: ctx.stderrPath, prepare: { ctx.remove(perfFile) })
    }
    let ember = ctx.attempt("ember record") {
        try measure("ember record", [ctx.ember, "record", "-F", "999", "-g", "-q", "-o", emberFile,
                                     "--", ctx.demo, "2"],
                    runs: ctx.runs, stderrPath: ctx.stderrPath, prepare: { ctx.remove(emberFile) })
    }

    for timing in [bare, perf, perfNoBPF, ember].compactMap({ $0 }) {
        var line = "\(pad(timing.label, 13)) \(bestMedian(timing.wall)), peak RSS \(mebibytes(kib: timing.maxRSSKiB.median))"
        if let bare, timing.label != bare.label {
            line += ", added \(signedSeconds(timing.wall.median - bare.wall.median)) (median)"
        }
        ctx.info(line)
    }
    if let perf, let samples = parsePerfRecordSamples(perf.runs.last!.stderrText) {
        ctx.info("perf record wrote \(samples) samples (last run)")
    }
    if let ember {
        if let summary = parseEmberSummary(ember.runs.last!.stderrText) {
            ctx.info("ember record wrote \(summary.samples) samples, \(summary.lost) lost (last run)")
        } else {
            ctx.info("ember record printed no summary line")
        }
    }
    ctx.info("(peak RSS of a recorder includes its reaped child, the demo)")

    let perfAdded = bare.flatMap { b in perf.map { $0.wall.median - b.wall.median } }
    let emberAdded = bare.flatMap { b in ember.map { $0.wall.median - b.wall.median } }
    ctx.rows.append(Row(name: "2a added wall time, -F 999 -g",
                        perf: perfAdded.map(signedSeconds) ?? "failed",
                        ember: emberAdded.map(signedSeconds) ?? "failed",
                        ratio: ratio(emberAdded ?? .nan, perfAdded ?? .nan),
                        note: "ember/perf added time (median), <1 = ember cheaper"))
    let noBPFAdded = bare.flatMap { b in perfNoBPF.map { $0.wall.median - b.wall.median } }
    ctx.rows.append(Row(name: "2a' same, perf --no-bpf-event",
                        perf: noBPFAdded.map(signedSeconds) ?? "failed",
                        ember: emberAdded.map(signedSeconds) ?? "failed",
                        ratio: ratio(emberAdded ?? .nan, noBPFAdded ?? .nan),
                        note: "as 2a, perf without its ~1 s BPF side-band exit wait"))
    ctx.rows.append(Row(name: "2b peak RSS, -F 999 -g",
                        perf: perf.map { mebibytes(kib: $0.maxRSSKiB.median) } ?? "failed",
                        ember: ember.map { mebibytes(kib: $0.maxRSSKiB.median) } ?? "failed",
                        ratio: ratio(ember?.maxRSSKiB.median ?? .nan, perf?.maxRSSKiB.median ?? .nan),
                        note: "ember/perf, <1 = ember smaller"))
    ctx.remove(perfFile)
    ctx.remove(emberFile)
}

// MARK: - 3. Ring drain throughput at the maximum sample rate

/// What one recorder achieved in one run.
private struct DrainRun {
    var samples: Int
    var lost: Int?
    /// Recording span: Ember's own "in S s", perf's header "sample duration"
    /// (first to last sample); nil falls back to the command's wall time.
    var span: Double?
    var wall: Double

    var rate: Double { samples > 0 ? Double(samples) / (span ?? wall) : 0 }
}

/// Lost samples and sample duration from `perf report --header --stdio`.
func perfLostAndSpan(_ ctx: Context, file: String) throws -> (lost: Int?, span: Double?) {
    let out = ctx.path("report-header.txt")
    try runChecked([ctx.perf, "report", "-i", file, "--stdio", "--header", "--sort", "comm", "-g", "none"],
                   stdout: .file(out), stderrPath: ctx.stderrPath)
    let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
    ctx.remove(out)
    var span: Double?
    // "# sample duration :   2034.342 ms"
    if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("# sample duration") }) {
        let words = line.split(separator: " ")
        if words.count >= 2, words.last == "ms", let ms = Double(words[words.count - 2]) { span = ms / 1000 }
    }
    return (parsePerfLostSamples(text), span)
}

private func median(_ runs: [DrainRun]) -> DrainRun {
    let sorted = runs.sorted { $0.samples < $1.samples }
    return sorted[sorted.count / 2]
}

func benchDrain(_ ctx: Context) {
    let maxRate: Int
    if let text = try? String(contentsOfFile: "/proc/sys/kernel/perf_event_max_sample_rate", encoding: .utf8),
       let value = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
        maxRate = value
    } else {
        maxRate = 10_000
    }
    ctx.section("3. ring drain throughput, -F \(maxRate) -g on `demo 2` (\(ctx.runs) runs each)")
    ctx.info("-F is kernel.perf_event_max_sample_rate (the kernel may lower it when sampling gets too costly)")
    let perfFile = ctx.path("drain-perf.data")
    let emberFile = ctx.path("drain-ember.data")

    let perfRuns: [DrainRun]? = ctx.attempt("perf record") {
        try (0..<ctx.runs).map { _ in
            ctx.remove(perfFile)
            let result = try runChecked([ctx.perf, "record", "-F", String(maxRate), "-g", "-o", perfFile,
                                         "--", ctx.demo, "2"], stderrPath: ctx.stderrPath)
            guard let samples = parsePerfRecordSamples(result.stderrText) else {
                throw BenchError.message("no '[ perf record: Captured and wrote ...]' line")
            }
            let extra = try perfLostAndSpan(ctx, file: perfFile)
            return DrainRun(samples: samples, lost: extra.lost, span: extra.span, wall: result.wallSeconds)
        }
    }
    let emberRuns: [DrainRun]? = ctx.attempt("ember record") {
        try (0..<ctx.runs).map { _ in
            ctx.remove(emberFile)
            let result = try runChecked([ctx.ember, "record", "-F", String(maxRate), "-g", "-q", "-o", emberFile,
                                         "--", ctx.demo, "2"], stderrPath: ctx.stderrPath)
            guard let summary = parseEmberSummary(result.stderrText) else {
                throw BenchError.message("no 'ember record: N samples, M lost, wrote B bytes to FILE in S s' line in stderr")
            }
            return DrainRun(samples: summary.samples, lost: summary.lost, span: summary.seconds,
                            wall: result.wallSeconds)
        }
    }
    // Can perf read what Ember wrote? (Informational, untimed.)
    if emberRuns != nil, let count = try? perfSampleCount(ctx, file: emberFile) {
        ctx.info("perf report --stats on Ember's file: \(count) samples")
    }

    func describe(_ label: String, _ runs: [DrainRun]?) -> DrainRun? {
        guard let runs, !runs.isEmpty else { return nil }
        let mid = median(runs)
        let lostText = runs.map { $0.lost.map(String.init) ?? "?" }.joined(separator: ", ")
        ctx.info("\(pad(label, 13)) median run \(mid.samples) samples, \(fmt(mid.rate, 0)) samples/s (in "
                 + "\(fmt(mid.span ?? mid.wall)) s, wall \(fmt(mid.wall)) s); lost per run: \(lostText)")
        return mid
    }
    let perfMid = describe("perf record", perfRuns)
    let emberMid = describe("ember record", emberRuns)
    func text(_ run: DrainRun?) -> String {
        guard let run else { return "failed" }
        return "\(run.samples) (\(fmt(run.rate / 1000, 1))k/s), \(run.lost.map(String.init) ?? "?") lost"
    }
    // Both recorders sample the same 2 s of demo CPU time at the same -F, so
    // the sample counts compare directly; the spans behind samples/s differ
    // (perf: first to last sample; Ember: its own "in S s").
    ctx.rows.append(Row(name: "3  ring drain at -F \(maxRate)", perf: text(perfMid), ember: text(emberMid),
                        ratio: ratio(emberMid.map { Double($0.samples) } ?? .nan, perfMid.map { Double($0.samples) } ?? .nan),
                        note: "ember/perf samples kept, same workload and -F"))
    ctx.remove(perfFile)
    ctx.remove(emberFile)
}
