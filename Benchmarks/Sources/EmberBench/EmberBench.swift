// EmberBench: times Ember against perf on the same inputs, in the same run,
// and prints ratios. It never passes or fails a benchmark; a command that
// fails is reported and the next benchmark runs.

import Foundation

@main
struct EmberBench {
    static func main() {
        let options: Options
        do {
            options = try Options.parse(Array(CommandLine.arguments.dropFirst()))
        } catch {
            FileHandle.standardError.write("EmberBench: \(error)\n\n\(Options.usage)\n".data(using: .utf8)!)
            exit(2)
        }
        guard access(options.demo, X_OK) == 0 else {
            FileHandle.standardError.write("EmberBench: demo \(options.demo) is not an executable file\n".data(using: .utf8)!)
            exit(2)
        }
        let ctx: Context
        do {
            ctx = try Context(options: options)
        } catch {
            FileHandle.standardError.write("EmberBench: \(error)\n".data(using: .utf8)!)
            exit(2)
        }

        say("EmberBench: ember=\(options.ember) demo=\(options.demo) perf=\(options.perf) runs=\(options.runs)")
        say("workdir: \(ctx.workdir)\(ctx.removeWorkdirAtExit ? " (temporary)" : "")")
        say("wall time: CLOCK_MONOTONIC around spawn..wait4; \(rssMethod)")
        let started = monotonicSeconds()
        let sections: [(Int, (Context) -> Void)] = [(1, benchFolded), (2, benchScript), (3, benchUnwind), (4, benchOverhead),
                                                    (5, benchDrain), (6, benchProbes), (7, benchLatency), (8, benchNames),
                                                    (9, benchFlight), (10, benchExport), (11, benchAgent), (12, benchStartup),
                                                    (13, benchAsync), (14, benchFoldThroughput), (15, benchTop),
                                                    (16, benchHeap)]
        for (number, run) in sections where options.only.isEmpty || options.only.contains(number) { run(ctx) }
        printTable(ctx.rows)
        say("\ntotal benchmark time \(fmt(monotonicSeconds() - started, 1)) s")
        ctx.remove(ctx.stderrPath)
        ctx.cleanUp()
    }

    static func printTable(_ rows: [Row]) {
        say("\n== Summary (times are best of runs; ratios are informational, not pass/fail)")
        let header = Row(name: "benchmark", perf: "perf", ember: "ember", ratio: "ratio", note: "meaning")
        let all = [header] + rows
        let w0 = all.map(\.name.count).max() ?? 0
        let w1 = all.map(\.perf.count).max() ?? 0
        let w2 = all.map(\.ember.count).max() ?? 0
        let w3 = all.map(\.ratio.count).max() ?? 0
        for (i, row) in all.enumerated() {
            say("  \(pad(row.name, w0))  \(pad(row.perf, w1))  \(pad(row.ember, w2))  \(pad(row.ratio, w3))  \(row.note)")
            if i == 0 {
                say("  " + String(repeating: "-", count: w0 + w1 + w2 + w3 + 8 + 10))
            }
        }
    }
}
