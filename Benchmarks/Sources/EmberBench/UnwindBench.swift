// Benchmark 5: perf's own --call-graph dwarf recording of a workload without frame pointers -> folded stacks.
//
// Times `perf script` (which unwinds every sample's stack copy) and `ember collapse` on the same file.

import Foundation

func benchUnwind(_ ctx: Context) {
    ctx.section("5. DWARF unwinding: perf --call-graph dwarf recording -> stacks (\(ctx.runs) runs each)")
    let name = "5  dwarf unwind: script vs collapse"
    guard !ctx.noFramePointers.isEmpty else {
        ctx.rows.append(Row(name: name, perf: "-", ember: "-", ratio: "n/a", note: "no --no-fp workload given"))
        return
    }
    let file = ctx.path("dwarf.data")
    defer { ctx.remove(file) }
    guard ctx.attempt("perf record --call-graph dwarf", {
        try runChecked([ctx.perf, "record", "--call-graph", "dwarf", "-F", "4000", "-o", file, "--",
                        ctx.noFramePointers, "4000"], stderrPath: ctx.stderrPath)
    }) != nil else {
        ctx.rows.append(Row(name: name, perf: "-", ember: "-", ratio: "n/a", note: "no input recording"))
        return
    }
    let samples = (try? perfSampleCount(ctx, file: file)) ?? 0
    let bytes = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
    ctx.info("input: \(samples) samples, \(fmt(Double(bytes) / 1_048_576, 1)) MiB")
    let perf = ctx.attempt("perf script") {
        try measure("perf script", [ctx.perf, "script", "-i", file], runs: ctx.runs, stderrPath: ctx.stderrPath)
    }
    let ember = ctx.attempt("ember collapse") {
        try measure("ember collapse", [ctx.ember, "collapse", "-i", file], runs: ctx.runs, stderrPath: ctx.stderrPath)
    }
    for timing in [perf, ember].compactMap({ $0 }) {
        ctx.info("\(pad(timing.label, 16)) \(bestMedian(timing.wall)), peak RSS \(mebibytes(kib: timing.maxRSSKiB.median))")
    }
    guard let perf, let ember else {
        ctx.rows.append(Row(name: name, perf: perf.map { seconds($0.wall.best) } ?? "failed",
                            ember: ember.map { seconds($0.wall.best) } ?? "failed", ratio: "n/a"))
        return
    }
    ctx.rows.append(Row(name: name, perf: seconds(perf.wall.best), ember: seconds(ember.wall.best),
                        ratio: ratio(perf.wall.best, ember.wall.best), note: "perf/ember time, >1 = ember faster"))
}
