// Benchmark 7: scheduler latency. Intrusion: `perf bench sched pipe` (context switches as fast as two threads can
// make them) alone, under `perf sched record`, under `ember latency --sched`, and under a bpftrace run-queue
// histogram when bpftrace is installed; the bench's own "Total time" is the measure. Analysis: `ember latency -i`
// against `perf sched latency` on the same `perf sched record` file.

import Foundation

func benchLatency(_ ctx: Context) {
    ctx.section("7. scheduler latency: intrusion under perf bench sched pipe, and analysis speed")
    // bpftrace's -c wants a path it can resolve unambiguously.
    let perfPath = ctx.perf.contains("/") ? ctx.perf : "/usr/bin/" + ctx.perf
    let bench = [perfPath, "bench", "sched", "pipe", "-l", "100000"]
    let perfFile = ctx.path("sched.data"), emberFile = ctx.path("latency.data"), out = ctx.path("bench.out")
    defer { for f in [perfFile, perfFile + ".old", emberFile, emberFile + ".old", out] { ctx.remove(f) } }
    func benchSeconds(_ argv: [String]) throws -> Double {
        var best = Double.infinity
        for _ in 0..<ctx.runs {
            _ = try runChecked(argv, stdout: .file(out), stderrPath: ctx.stderrPath)
            let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
            guard let line = text.split(separator: "\n").first(where: { $0.contains("Total time:") }),
                  let value = Double(line.split(separator: " ").first { Double($0) != nil } ?? "") else {
                throw BenchError.message("no 'Total time' from perf bench")
            }
            best = min(best, value)
        }
        return best
    }
    guard let alone = ctx.attempt("perf bench sched pipe", { try benchSeconds(bench) }) else { return }
    let perfUnder = ctx.attempt("under perf sched record") { try benchSeconds([ctx.perf, "sched", "record", "-o", perfFile, "--"] + bench) }
    let emberUnder = ctx.attempt("under ember latency --sched") { try benchSeconds([ctx.ember, "latency", "--sched", "-o", emberFile, "--"] + bench) }
    var bpftraceNote = "bpftrace not installed"
    if access("/usr/bin/bpftrace", X_OK) == 0 {
        let script = "tracepoint:sched:sched_wakeup,tracepoint:sched:sched_wakeup_new { @q[args->pid] = nsecs; } "
            + "tracepoint:sched:sched_switch { if (args->prev_state == 0) { @q[args->prev_pid] = nsecs; } "
            + "$t = @q[args->next_pid]; if ($t) { @usecs = hist((nsecs - $t) / 1000); } delete(@q[args->next_pid]); }"
        if let under = ctx.attempt("under bpftrace", { try benchSeconds(["/usr/bin/bpftrace", "-e", script, "-c", bench.joined(separator: " ")]) }) {
            bpftraceNote = "bpftrace runqlat: +\(fmt((under / alone - 1) * 100, 0))%"
        }
    }
    func slowdown(_ under: Double?) -> String { under.map { "\(fmt(alone, 2))->\(fmt($0, 2)) s (+\(fmt(($0 / alone - 1) * 100, 0))%)" } ?? "failed" }
    ctx.info("alone \(fmt(alone, 3)) s; perf sched record \(slowdown(perfUnder)); ember latency \(slowdown(emberUnder)); \(bpftraceNote)")
    let ratioText = perfUnder != nil && emberUnder != nil ? fmt((emberUnder! - alone) / max(perfUnder! - alone, 1e-9), 2) + "x" : "n/a"
    ctx.rows.append(Row(name: "7a sched pipe slowdown while recording", perf: slowdown(perfUnder), ember: slowdown(emberUnder),
                        ratio: ratioText, note: "ember's added time / perf's; \(bpftraceNote)"))
    guard perfUnder != nil else { return }
    let size = ((try? FileManager.default.attributesOfItem(atPath: perfFile)[.size] as? Int) ?? 0) ?? 0
    let perfRead = ctx.attempt("perf sched latency") { try measure("perf", [ctx.perf, "sched", "latency", "-i", perfFile], runs: ctx.runs, stderrPath: ctx.stderrPath) }
    let emberRead = ctx.attempt("ember latency -i") { try measure("ember", [ctx.ember, "latency", "-i", perfFile, "--sched"], runs: ctx.runs, stderrPath: ctx.stderrPath) }
    ctx.rows.append(Row(name: "7b analysis of a \(size >> 20) MiB perf sched record file", perf: perfRead.map { seconds($0.wall.best) } ?? "failed",
                        ember: emberRead.map { seconds($0.wall.best) } ?? "failed",
                        ratio: perfRead != nil && emberRead != nil ? ratio(perfRead!.wall.best, emberRead!.wall.best) : "n/a",
                        note: "perf sched latency vs ember latency -i (which adds percentiles)"))
}
