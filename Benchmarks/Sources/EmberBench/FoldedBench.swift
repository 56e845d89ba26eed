// Benchmark 1: perf.data -> folded stacks.
//
// Records ~50,000 call-graph samples of the demo once with perf, then times
// `perf script`, `perf report -g folded` and `ember collapse` on that file.

import Foundation

private let targetSamples = 50_000
private let recordHz = 20_000

/// Counts the samples in a perf.data file with `perf report --stats`.
func perfSampleCount(_ ctx: Context, file: String) throws -> Int {
    let out = ctx.path("stats.txt")
    defer { ctx.remove(out) }
    try runChecked([ctx.perf, "report", "-i", file, "--stats"], stdout: .file(out), stderrPath: ctx.stderrPath)
    let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
    guard let count = parsePerfStatsSamples(text) else {
        throw BenchError.message("no 'SAMPLE events' line in `perf report --stats` output")
    }
    return count
}

/// Records the input file, re-recording once with a scaled duration if the
/// first attempt is far from the target sample count.
func recordInput(_ ctx: Context, file: String) throws -> Int {
    var duration = 2.5
    var count = 0
    for attempt in 0..<2 {
        ctx.remove(file)
        try runChecked([ctx.perf, "record", "-F", String(recordHz), "-g", "-o", file,
                        "--", ctx.demo, fmt(duration, 2)], stderrPath: ctx.stderrPath)
        count = try perfSampleCount(ctx, file: file)
        ctx.info("recorded \(count) samples (perf record -F \(recordHz) -g -- demo \(fmt(duration, 2)))")
        let off = abs(Double(count - targetSamples)) / Double(targetSamples)
        if off < 0.1 || attempt == 1 || count == 0 { break }
        duration = min(max(duration * Double(targetSamples) / Double(count), 0.2), 20)
    }
    return count
}

func benchFolded(_ ctx: Context) {
    ctx.section("1. perf.data -> folded (\(ctx.runs) runs each)")
    let file = ctx.path("bench50k.data")
    guard let count = ctx.attempt("recording the input", { try recordInput(ctx, file: file) }) else {
        ctx.rows.append(Row(name: "1a perf script vs ember collapse", perf: "-", ember: "-", ratio: "n/a",
                            note: "no input recording"))
        ctx.rows.append(Row(name: "1b perf report folded vs collapse", perf: "-", ember: "-", ratio: "n/a",
                            note: "no input recording"))
        return
    }
    let bytes = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
    ctx.info("input: \(file), \(count) samples, \(fmt(Double(bytes) / 1_048_576, 1)) MiB")

    // Sanity check (untimed, also warms the page cache): Ember's folded output
    // should account for every sample perf counts.
    let foldedOut = ctx.path("bench50k.folded")
    // perf script (6.1, as Debian builds it) prints no inlined frames, so Ember's are turned off for a
    // like-for-like fold.
    let collapseArgv = [ctx.ember, "collapse", "--no-inline", "-i", file]
    var emberWorks = false
    if ctx.attempt("ember collapse", { try runChecked(collapseArgv, stdout: .file(foldedOut), stderrPath: ctx.stderrPath) }) != nil {
        let text = (try? String(contentsOfFile: foldedOut, encoding: .utf8)) ?? ""
        let total = foldedTotal(text)
        ctx.info("ember collapse: \(total.lines) distinct stacks, \(total.samples) samples (perf counts \(count))")
        emberWorks = true
    }
    ctx.remove(foldedOut)

    let perfScript = ctx.attempt("perf script") {
        try measure("perf script", [ctx.perf, "script", "-i", file], runs: ctx.runs, stderrPath: ctx.stderrPath)
    }
    let perfReport = ctx.attempt("perf report -g folded") {
        try measure("perf report", [ctx.perf, "report", "-i", file, "--stdio", "--no-children",
                                    "-g", "folded,0,caller,count"],
                    runs: ctx.runs, stderrPath: ctx.stderrPath)
    }
    // The pipeline the goal names, when a stackcollapse-perf.pl is given (FlameGraph's; not part of Ember).
    let pipeline: Timing? = ctx.stackcollapse.isEmpty ? nil : ctx.attempt("perf script | stackcollapse-perf.pl") {
        try measure("script|collapse", ["/bin/sh", "-c", "'\(ctx.perf)' script -i '\(file)' | perl '\(ctx.stackcollapse)'"],
                    runs: ctx.runs, stderrPath: ctx.stderrPath)
    }
    let collapse: Timing? = emberWorks ? ctx.attempt("ember collapse") {
        try measure("ember collapse", collapseArgv, runs: ctx.runs, stderrPath: ctx.stderrPath)
    } : nil

    for timing in [perfScript, perfReport, pipeline, collapse].compactMap({ $0 }) {
        ctx.info("\(pad(timing.label, 16)) \(bestMedian(timing.wall)), peak RSS \(mebibytes(kib: timing.maxRSSKiB.median))")
    }
    let emberText = collapse.map { seconds($0.wall.best) } ?? "failed"
    func row(_ name: String, _ perfTiming: Timing?) -> Row {
        guard let perfTiming else { return Row(name: name, perf: "failed", ember: emberText, ratio: "n/a") }
        guard let collapse else {
            return Row(name: name, perf: seconds(perfTiming.wall.best), ember: emberText, ratio: "n/a")
        }
        let r = ratio(perfTiming.wall.best, collapse.wall.best)
        ctx.info("\(perfTiming.label) / ember collapse: \(r) (best), \(ratio(perfTiming.wall.median, collapse.wall.median)) (median)")
        return Row(name: name, perf: seconds(perfTiming.wall.best), ember: emberText, ratio: r,
                   note: "perf/ember time, >1 = ember faster")
    }
    ctx.rows.append(row("1a perf script vs ember collapse", perfScript))
    ctx.rows.append(row("1b perf report folded vs collapse", perfReport))
    if pipeline != nil { ctx.rows.append(row("1c perf script | stackcollapse-perf.pl", pipeline)) }
}
