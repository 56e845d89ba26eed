// Benchmark 10: exports against collapse.
//
// On the same ~50,000-sample recording as benchmark 1, times `ember collapse` and `ember export` in each format.
// The goal: an export takes no more than twice a collapse.

import Foundation

func benchExport(_ ctx: Context) {
    ctx.section("10. exports vs collapse (\(ctx.runs) runs each)")
    let file = ctx.path("bench50k.data")
    if access(file, R_OK) != 0 {
        guard ctx.attempt("recording the input", { try recordInput(ctx, file: file) }) != nil else {
            ctx.rows.append(Row(name: "10 exports", perf: "-", ember: "-", ratio: "n/a", note: "no input recording"))
            return
        }
    }
    guard let collapse = ctx.attempt("ember collapse", {
        try measure("ember collapse", [ctx.ember, "collapse", "-i", file], runs: ctx.runs, stderrPath: ctx.stderrPath)
    }) else { return }
    for format in ["speedscope", "firefox"] {
        let out = ctx.path("bench50k." + format)
        guard let export = ctx.attempt("ember export \(format)", {
            try measure("export " + format, [ctx.ember, "export", "--format", format, "-i", file, "-o", out],
                        runs: ctx.runs, stderrPath: ctx.stderrPath)
        }) else { continue }
        let bytes = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
        ctx.info("export \(format): \(bestMedian(export.wall)), \(fmt(Double(bytes) / 1_048_576, 1)) MiB written")
        ctx.remove(out)
        ctx.rows.append(Row(name: "10 collapse vs export " + format, perf: seconds(collapse.wall.best), ember: seconds(export.wall.best),
                            ratio: ratio(export.wall.best, collapse.wall.best), note: "export/collapse time, goal <= 2"))
    }
}
