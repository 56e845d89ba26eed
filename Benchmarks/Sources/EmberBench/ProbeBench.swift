// Benchmark 6: probes at high rates, Ember and perf with the same ring size (-m 128): a tracepoint under a
// syscall-heavy loop (raw_syscalls:sys_enter under dd bs=1), and a uprobe on a hot function (probed_add, called
// in a tight loop). Events recorded, lost, and events per second of wall time.

import Foundation

private struct ProbeRun {
    var events: Int
    var lost: Int?
    var wall: Double
    var text: String { "\(events) (\(fmt(Double(events) / wall / 1000, 1))k/s), \(lost.map(String.init) ?? "?") lost" }
}

func benchProbes(_ ctx: Context) {
    ctx.section("6. probes at high rates, same ring size (-m 128)")
    let dd = ["/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=1", "count=400000"]
    compare(ctx, name: "6a tracepoint sys_enter, dd bs=1",
            perf: [ctx.perf, "record", "-e", "raw_syscalls:sys_enter", "-m", "128"], ember: ["-e", "raw_syscalls:sys_enter"], workload: dd)
    guard !ctx.probed.isEmpty else {
        ctx.rows.append(Row(name: "6b uprobe on a hot function", perf: "-", ember: "-", ratio: "n/a", note: "no --probed workload given"))
        return
    }
    // perf's uprobes are tracefs probes made by `perf probe`; Ember's are PMU probes made per recording.
    guard ctx.attempt("perf probe", { try runChecked([ctx.perf, "probe", "-q", "-x", ctx.probed, "probed_add"], stderrPath: ctx.stderrPath) }) != nil else {
        ctx.rows.append(Row(name: "6b uprobe on a hot function", perf: "failed", ember: "-", ratio: "n/a"))
        return
    }
    defer { _ = try? runChecked([ctx.perf, "probe", "-q", "-d", "probe_probed:*"], stderrPath: ctx.stderrPath) }
    compare(ctx, name: "6b uprobe on a hot function",
            perf: [ctx.perf, "record", "-e", "probe_probed:probed_add", "-m", "128"],
            ember: ["-e", "uprobe:\(ctx.probed):probed_add"], workload: [ctx.probed, "400000", "0"])
}

private func compare(_ ctx: Context, name: String, perf: [String], ember: [String], workload: [String]) {
    let file = ctx.path("probe.data")
    defer { ctx.remove(file); ctx.remove(file + ".old") }
    let perfRun: ProbeRun? = ctx.attempt("perf record (\(name))") {
        let r = try runChecked(perf + ["-o", file, "--"] + workload, stderrPath: ctx.stderrPath)
        let stderr = (try? String(contentsOfFile: ctx.stderrPath, encoding: .utf8)) ?? ""
        guard let events = parsePerfRecordSamples(stderr) else { throw BenchError.message("no perf record summary") }
        return ProbeRun(events: events, lost: try perfLostAndSpan(ctx, file: file).lost, wall: r.wallSeconds)
    }
    let emberRun: ProbeRun? = ctx.attempt("ember record (\(name))") {
        let r = try runChecked([ctx.ember, "record", "-q", "-m", "128"] + ember + ["-o", file, "--"] + workload, stderrPath: ctx.stderrPath)
        let stderr = (try? String(contentsOfFile: ctx.stderrPath, encoding: .utf8)) ?? ""
        guard let summary = parseEmberSummary(stderr) else { throw BenchError.message("no ember record summary") }
        return ProbeRun(events: summary.samples, lost: summary.lost, wall: r.wallSeconds)
    }
    for (label, run) in [("perf", perfRun), ("ember", emberRun)] {
        if let run { ctx.info("\(pad(label, 6)) \(run.text), wall \(fmt(run.wall)) s") }
    }
    let ratioText = (perfRun != nil && emberRun != nil && perfRun!.events > 0)
        ? fmt(Double(emberRun!.events) / Double(perfRun!.events), 2) + "x" : "n/a"
    ctx.rows.append(Row(name: name, perf: perfRun?.text ?? "failed", ember: emberRun?.text ?? "failed", ratio: ratioText,
                        note: "ember/perf events kept, same workload and ring size"))
}
