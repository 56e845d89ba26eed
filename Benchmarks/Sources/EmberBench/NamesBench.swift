// Benchmark 8: the cost of names. Inline frames (Ember's default) against `--no-inline` on the same
// frame-pointer recording of python3, on a first reading (an empty cache directory: DWARF opened, decompressed and
// walked) and on later ones (inline chains from the cache), and Ember's default against `perf script` (which also
// looks up inlines) on perf's own DWARF recording of it.

import Foundation

func benchNames(_ ctx: Context) {
    ctx.section("8. names: inline frames, and DWARF recordings against perf script")
    let workload = ["/usr/bin/env", "python3", "-c",
                    "import json; json.loads(json.dumps([{'a': i, 'b': str(i)} for i in range(600000)]))"]
    let fpFile = ctx.path("python-fp.data"), dwarfFile = ctx.path("python-dwarf.data")
    defer { for f in [fpFile, dwarfFile, fpFile + ".old", dwarfFile + ".old"] { ctx.remove(f) } }
    let recorded = ctx.attempt("recording python3") {
        try runChecked([ctx.perf, "record", "-g", "-F", "4000", "-o", fpFile, "--"] + workload, stderrPath: ctx.stderrPath)
        try runChecked([ctx.perf, "record", "--call-graph", "dwarf", "-F", "4000", "-o", dwarfFile, "--"] + workload,
                       stderrPath: ctx.stderrPath)
    }
    guard recorded != nil else { return }
    let samples = (try? perfSampleCount(ctx, file: dwarfFile)) ?? 0
    let noInline = ctx.attempt("ember collapse --no-inline") {
        try measure("ember collapse --no-inline", [ctx.ember, "collapse", "--no-inline", "-i", fpFile], runs: ctx.runs, stderrPath: ctx.stderrPath)
    }
    // A first reading: a cache directory without inline chains, but with the kernel symbols the --no-inline runs
    // cached, so that only the cost of inline frames differs.
    let emptyCache = ctx.path("empty-cache")
    defer { ctx.remove(emptyCache) }
    let home = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"] ?? (NSHomeDirectory() + "/.cache")
    try? FileManager.default.createDirectory(atPath: emptyCache + "/ember", withIntermediateDirectories: true)
    for name in (try? FileManager.default.contentsOfDirectory(atPath: home + "/ember")) ?? [] where name.hasPrefix("kallsyms-") {
        try? FileManager.default.copyItem(atPath: home + "/ember/" + name, toPath: emptyCache + "/ember/" + name)
    }
    let firstReading = ctx.attempt("ember collapse, first reading") {
        try measure("ember collapse", ["/usr/bin/env", "XDG_CACHE_HOME=" + emptyCache, ctx.ember, "collapse", "-i", fpFile],
                    runs: 1, stderrPath: ctx.stderrPath)
    }
    let inline = ctx.attempt("ember collapse") {
        try measure("ember collapse", [ctx.ember, "collapse", "-i", fpFile], runs: ctx.runs, stderrPath: ctx.stderrPath)
    }
    for (name, timing) in [("8a inline frames, first reading", firstReading), ("8b inline frames, later readings", inline)] {
        ctx.rows.append(Row(name: name + " vs --no-inline", perf: noInline.map { seconds($0.wall.best) } ?? "failed",
                            ember: timing.map { seconds($0.wall.best) } ?? "failed",
                            ratio: timing != nil && noInline != nil ? ratio(timing!.wall.best, noInline!.wall.best) : "n/a",
                            note: "ember collapse on perf's -g recording of python3; perf column is --no-inline; goal <= 2x"))
    }
    let perfScript = ctx.attempt("perf script") {
        try measure("perf script", [ctx.perf, "script", "-i", dwarfFile], runs: ctx.runs, stderrPath: ctx.stderrPath)
    }
    let dwarfCollapse = ctx.attempt("ember collapse (DWARF)") {
        try measure("ember collapse", [ctx.ember, "collapse", "-i", dwarfFile], runs: ctx.runs, stderrPath: ctx.stderrPath)
    }
    ctx.rows.append(Row(name: "8c \(samples) DWARF samples: perf script vs collapse", perf: perfScript.map { seconds($0.wall.best) } ?? "failed",
                        ember: dwarfCollapse.map { seconds($0.wall.best) } ?? "failed",
                        ratio: perfScript != nil && dwarfCollapse != nil ? ratio(perfScript!.wall.best, dwarfCollapse!.wall.best) : "n/a",
                        note: "both unwind and look up inlines; goal >= 3x"))
}
