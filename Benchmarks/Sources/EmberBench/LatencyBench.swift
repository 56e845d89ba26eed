// Benchmark 7: scheduler latency. Intrusion: `perf bench sched pipe -l 200000` (context switches as fast as two
// processes can make them, both on CPU 0) alone, under `perf sched record`, under `ember latency --sched`, and under
// a bpftrace run-queue histogram when bpftrace is installed (each recorder on CPU 1); the bench's own "Total time"
// is the measure, the median of turns taken in rotation. Analysis: `ember latency -i`
// against `perf sched latency` on the same `perf sched record` file.

import Foundation

func benchLatency(_ ctx: Context) {
    ctx.section("7. scheduler latency: intrusion under perf bench sched pipe, and analysis speed")
    // The bench's two processes share CPU 0 and every recorder runs on CPU 1: placement alone moved the bench's own
    // time by half (a wake-up to the other CPU costs an IPI in this VM), so the added time is the tracing's, in the
    // traced context. bpftrace's -c wants paths it can resolve unambiguously.
    let perfPath = ctx.perf.contains("/") ? ctx.perf : "/usr/bin/" + ctx.perf
    let bench = ["/usr/bin/taskset", "-c", "0", perfPath, "bench", "sched", "pipe", "-l", "200000"]
    let recorder = ["/usr/bin/taskset", "-c", "1"]
    let perfFile = ctx.path("sched.data"), emberFile = ctx.path("latency.data"), out = ctx.path("bench.out")
    defer { for f in [perfFile, perfFile + ".old", emberFile, emberFile + ".old", out] { ctx.remove(f) } }
    func benchSeconds(_ argv: [String]) throws -> Double {
        _ = try runChecked(argv, stdout: .file(out), stderrPath: ctx.stderrPath)
        let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        guard let line = text.split(separator: "\n").first(where: { $0.contains("Total time:") }),
              let value = Double(line.split(separator: " ").first { Double($0) != nil } ?? "") else {
            throw BenchError.message("no 'Total time' from perf bench")
        }
        return value
    }
    let script = "tracepoint:sched:sched_wakeup,tracepoint:sched:sched_wakeup_new { @q[args->pid] = nsecs; } "
        + "tracepoint:sched:sched_switch { if (args->prev_state == 0) { @q[args->prev_pid] = nsecs; } "
        + "$t = @q[args->next_pid]; if ($t) { @usecs = hist((nsecs - $t) / 1000); } delete(@q[args->next_pid]); }"
    var ways: [(name: String, argv: [String])] = [
        ("alone", bench),
        ("perf sched record", recorder + [ctx.perf, "sched", "record", "-o", perfFile, "--"] + bench),
        // Without -o, run-queue delay is measured in the kernel by Ember's BPF program; with -o, events are recorded.
        ("ember latency --sched", recorder + [ctx.ember, "latency", "--sched", "--"] + bench),
        ("ember latency --sched -o", recorder + [ctx.ember, "latency", "--sched", "-o", emberFile, "--"] + bench),
    ]
    if access("/usr/bin/bpftrace", X_OK) == 0 {
        ways.append(("bpftrace runqlat", recorder + ["/usr/bin/bpftrace", "-e", script, "-c", bench.joined(separator: " ")]))
    }
    // The ways take turns, so that a slow spell of the host falls on each alike; the median of each is compared.
    var times: [String: [Double]] = [:]
    for _ in 0..<max(ctx.runs, 5) {
        for way in ways {
            if let t = ctx.attempt("\(way.name)", { try benchSeconds(way.argv) }) { times[way.name, default: []].append(t) }
        }
    }
    func median(_ name: String) -> Double? {
        guard let values = times[name]?.sorted(), !values.isEmpty else { return nil }
        return values[values.count / 2]
    }
    guard let alone = median("alone") else { return }
    let perfUnder = median("perf sched record"), emberUnder = median("ember latency --sched"), bpfUnder = median("bpftrace runqlat")
    let streamingUnder = median("ember latency --sched -o")
    func slowdown(_ under: Double?) -> String { under.map { "\(fmt(alone, 2))->\(fmt($0, 2)) s (+\(fmt(($0 / alone - 1) * 100, 0))%)" } ?? "failed" }
    let bpftraceNote = access("/usr/bin/bpftrace", X_OK) == 0 ? "bpftrace runqlat \(slowdown(bpfUnder))" : "bpftrace not installed"
    ctx.info("medians of \(times["alone"]?.count ?? 0) turns: alone \(fmt(alone, 3)) s; perf sched record \(slowdown(perfUnder)); ember latency in the kernel \(slowdown(emberUnder)), recording events \(slowdown(streamingUnder)); \(bpftraceNote)")
    func added(_ a: Double?, over b: Double?) -> String {
        guard let a, let b else { return "n/a" }
        return fmt((a - alone) / max(b - alone, 1e-9), 2) + "x"
    }
    ctx.rows.append(Row(name: "7a sched pipe slowdown while recording", perf: slowdown(perfUnder), ember: slowdown(emberUnder),
                        ratio: added(emberUnder, over: perfUnder),
                        note: "ember's added time (in the kernel, BPF) / perf's (medians); / bpftrace's: \(added(emberUnder, over: bpfUnder)); \(bpftraceNote); ember recording events (-o) \(slowdown(streamingUnder))"))
    guard perfUnder != nil else { return }
    let size = ((try? FileManager.default.attributesOfItem(atPath: perfFile)[.size] as? Int) ?? 0) ?? 0
    let perfRead = ctx.attempt("perf sched latency") { try measure("perf", [ctx.perf, "sched", "latency", "-i", perfFile], runs: ctx.runs, stderrPath: ctx.stderrPath) }
    let emberRead = ctx.attempt("ember latency -i") { try measure("ember", [ctx.ember, "latency", "-i", perfFile, "--sched"], runs: ctx.runs, stderrPath: ctx.stderrPath) }
    ctx.rows.append(Row(name: "7b analysis of a \(size >> 20) MiB perf sched record file", perf: perfRead.map { seconds($0.wall.best) } ?? "failed",
                        ember: emberRead.map { seconds($0.wall.best) } ?? "failed",
                        ratio: perfRead != nil && emberRead != nil ? ratio(perfRead!.wall.best, emberRead!.wall.best) : "n/a",
                        note: "perf sched latency vs ember latency -i (which adds percentiles)"))
}
