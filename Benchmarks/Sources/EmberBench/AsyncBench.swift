// Benchmark 13: what taking Swift async context chains with each sample costs (the capture BPF program on the
// sampling events): the asyncchain fixture doing a fixed amount of work (`asyncchain 0 TURNS`) recorded with `-g`
// at 999 Hz and at 9,999 Hz, with and without chains (`--no-async-stacks`), in turns; the workload's added wall
// time per sample, and the events lost.

import Foundation

func benchAsync(_ ctx: Context) {
    ctx.section("13. Swift async chains: -g with and without them at 999 and 9,999 Hz on `asyncchain 0 3000` (\(ctx.runs) runs each)")
    guard !ctx.asyncChain.isEmpty else {
        ctx.info("skipped: no --async workload (swiftc -O -parse-as-library Tests/Programs/asyncchain.swift)")
        return
    }
    let file = ctx.path("async.data")
    let work = [ctx.asyncChain, "0", "3000"]
    let bare = ctx.attempt("bare asyncchain") { try measure("bare", work, runs: ctx.runs, stderrPath: ctx.stderrPath) }
    if let bare { ctx.info("bare asyncchain \(bestMedian(bare.wall))") }
    for rate in ["999", "9999"] {
        var timings: [String: Timing] = [:]
        for (label, extra) in [("without chains", ["--no-async-stacks"]), ("with chains", [])] {
            timings[label] = ctx.attempt("ember record -F \(rate) \(label)") {
                try measure(label, [ctx.ember, "record", "-F", rate, "-g", "-q", "-o", file] + extra + ["--"] + work,
                            runs: ctx.runs, stderrPath: ctx.stderrPath, prepare: { ctx.remove(file) })
            }
        }
        guard let without = timings["without chains"], let with = timings["with chains"],
              let summary = parseEmberSummary(with.runs.last!.stderrText), summary.samples > 0 else { continue }
        let lostWithout = parseEmberSummary(without.runs.last!.stderrText)?.lost ?? 0
        let perSample = (with.wall.median - without.wall.median) / Double(summary.samples)
        ctx.info("-F \(rate): without \(bestMedian(without.wall)), with \(bestMedian(with.wall)); \(summary.samples) samples, lost \(lostWithout) without and \(summary.lost) with chains")
        ctx.rows.append(Row(name: "13 async chains -F \(rate)", perf: "-", ember: "\(fmt(perSample * 1e6, 2)) us/sample",
                            ratio: "n/a", note: "added wall time per sample (goal <= 1 us); lost \(lostWithout) -> \(summary.lost)"))
    }
}
