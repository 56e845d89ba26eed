// Benchmark 4: perf.data -> script text with inlined frames and source lines.
//
// Times `perf script --inline -F +srcline` and `ember script --srcline` (inlined frames are on by default) on
// benchmark 1's 50,000-sample recording, and divides each run by the distinct sampled addresses for an upper
// bound on the symbolization cost per address.

import Foundation

func benchScript(_ ctx: Context) {
    ctx.section("4. perf.data -> script with inlines and source lines (\(ctx.runs) runs each)")
    let file = ctx.path("bench50k.data")
    guard FileManager.default.fileExists(atPath: file) else {
        ctx.rows.append(Row(name: "4  script, inlines + srclines", perf: "-", ember: "-", ratio: "n/a", note: "no input recording"))
        return
    }
    let emberArgv = [ctx.ember, "script", "--srcline", "-i", file]
    let perfArgv = [ctx.perf, "script", "--inline", "-F", "+srcline", "-i", file]
    let out = ctx.path("script.txt")
    defer { ctx.remove(out) }
    var addresses = 0
    if ctx.attempt("ember script", { try runChecked(emberArgv, stdout: .file(out), stderrPath: ctx.stderrPath) }) != nil {
        let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        var distinct = Set<Substring>()
        for line in text.split(separator: "\n") where line.first == "\t" {
            if let address = line.split(separator: " ", omittingEmptySubsequences: true).first { distinct.insert(address) }
        }
        addresses = distinct.count
        let inlined = text.components(separatedBy: " (inlined)\n").count - 1
        ctx.info("ember script: \(addresses) distinct addresses, \(inlined) inlined frame lines")
    }
    let perf = ctx.attempt("perf script --inline -F +srcline") {
        try measure("perf script", perfArgv, runs: ctx.runs, stderrPath: ctx.stderrPath)
    }
    let ember = addresses > 0 ? ctx.attempt("ember script --srcline") {
        try measure("ember script", emberArgv, runs: ctx.runs, stderrPath: ctx.stderrPath)
    } : nil
    for timing in [perf, ember].compactMap({ $0 }) {
        let perAddress = addresses > 0 ? ", \(fmt(timing.wall.best / Double(addresses) * 1e6, 1)) µs per distinct address" : ""
        ctx.info("\(pad(timing.label, 16)) \(bestMedian(timing.wall))\(perAddress)")
    }
    guard let perf, let ember else {
        ctx.rows.append(Row(name: "4  script, inlines + srclines", perf: perf.map { seconds($0.wall.best) } ?? "failed",
                            ember: ember.map { seconds($0.wall.best) } ?? "failed", ratio: "n/a"))
        return
    }
    ctx.rows.append(Row(name: "4  script, inlines + srclines", perf: seconds(perf.wall.best), ember: seconds(ember.wall.best),
                        ratio: ratio(perf.wall.best, ember.wall.best), note: "perf/ember time, >1 = ember faster"))
}
