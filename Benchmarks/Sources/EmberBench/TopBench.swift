// Benchmark 15: what `ember top` costs beside `perf top`, both at 999 Hz over every CPU while the demo keeps each
// CPU busy: the CPU time (task-clock, through perf stat) of each in 5 s of its terminal UI, run in turns under
// script(1)'s pseudo-terminal and ended by SIGINT as a user's Ctrl-C would.

import Foundation

func benchTop(_ ctx: Context) {
    ctx.section("15. top: CPU time in 5 s at -F 999 -a, the terminal UI, beside perf top (\(ctx.runs) turns)")
    let cpus = ProcessInfo.processInfo.activeProcessorCount
    let load = (0..<cpus).compactMap { _ -> Process? in
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ctx.demo)
        p.arguments = ["600"]
        p.standardOutput = FileHandle.nullDevice
        return (try? p.run()).map { p }
    }
    defer { for p in load { p.terminate(); p.waitUntilExit() } }
    var ember: [Double] = [], perf: [Double] = []
    for _ in 0..<ctx.runs {
        if let ms = cpuMilliseconds("\(ctx.perf) top -F 999 -a", ctx) { perf.append(ms) }
        if let ms = cpuMilliseconds("\(ctx.ember) top -F 999 -a", ctx) { ember.append(ms) }
    }
    guard !ember.isEmpty, !perf.isEmpty else {
        ctx.rows.append(Row(name: "15 top CPU time", perf: "-", ember: "-", ratio: "n/a", note: "a top could not be run (needs root and script(1))"))
        return
    }
    let e = Stat(ember).median, p = Stat(perf).median
    ctx.info("medians: ember top \(fmt(e, 0)) ms, perf top \(fmt(p, 0)) ms of CPU in 5 s")
    ctx.rows.append(Row(name: "15 top CPU time in 5 s, -F 999 -a", perf: "\(fmt(p, 0)) ms", ember: "\(fmt(e, 0)) ms",
                        ratio: fmt(e / p, 2) + "x", note: "ember's / perf's (goal <= 1)"))
}

/// The task-clock milliseconds of `command` (and its children) run for 5 s under a pseudo-terminal.
private func cpuMilliseconds(_ command: String, _ ctx: Context) -> Double? {
    let out = ctx.path("top-stat.csv")
    ctx.remove(out)
    let argv = [ctx.perf, "stat", "-x", ",", "-e", "task-clock", "-o", out, "--",
                "script", "-qfc", "timeout -s INT 5 \(command)", "/dev/null"]
    guard (try? runChild(argv, stderrPath: ctx.stderrPath)) != nil,
          let text = try? String(contentsOfFile: out, encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.contains("task-clock") }),
          let ms = Double(line.split(separator: ",").first ?? "") else { return nil }
    return ms
}
