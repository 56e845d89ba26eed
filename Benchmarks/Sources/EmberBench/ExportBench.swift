// Benchmark 10: exports and archives against collapse.
//
// On the same ~50,000-sample recording as benchmark 1, times `ember collapse`, `ember export` in each format and
// `ember archive`, and collapse again on the archive. The goals: an export or an archive takes no more than twice a
// collapse, and reading an archive is faster than reading the recording.

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
    for format in ["speedscope", "firefox", "otlp", "archive"] {
        let out = ctx.path("bench50k." + format)
        let argv = format == "archive" ? [ctx.ember, "archive", "-i", file, "-o", out]
                                       : [ctx.ember, "export", "--format", format, "-i", file, "-o", out]
        guard let export = ctx.attempt("ember \(format)", {
            try measure(format, argv, runs: ctx.runs, stderrPath: ctx.stderrPath)
        }) else { continue }
        if format == "archive", let reading = ctx.attempt("ember collapse of the archive", {
            try measure("collapse archive", [ctx.ember, "collapse", "-i", out], runs: ctx.runs, stderrPath: ctx.stderrPath)
        }) {
            ctx.rows.append(Row(name: "10 collapse of recording vs archive", perf: seconds(collapse.wall.best), ember: seconds(reading.wall.best),
                                ratio: ratio(collapse.wall.best, reading.wall.best), note: "recording/archive time, >1 = archive faster"))
        }
        let bytes = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
        ctx.info("export \(format): \(bestMedian(export.wall)), \(fmt(Double(bytes) / 1_048_576, 1)) MiB written")
        ctx.remove(out)
        ctx.rows.append(Row(name: "10 collapse vs " + format, perf: seconds(collapse.wall.best), ember: seconds(export.wall.best),
                            ratio: ratio(export.wall.best, collapse.wall.best), note: "its time/collapse time, goal <= 2"))
    }
}
