// Benchmark 16: what heap profiling costs an allocation-heavy program, as the program itself times its loop (ns per
// malloc and free, or per Swift object made and dropped): without the shim; with libember-heap.so preloaded and
// nobody attached (goal: at most 1% slower); with `ember record --heap` attached at the default rate (goal: at most
// 5%), without and with call chains; and `--heap-uprobes -g`, bcc memleak's way (a uprobe on every malloc, its
// return and every free), on fewer rounds. The variants take turns, so that a slow spell of the host falls on all;
// medians are compared.

import Foundation

func benchHeap(_ ctx: Context) {
    ctx.section("16. heap profiling cost: the shim idle and attached, and uprobes on every malloc")
    let shim = URL(fileURLWithPath: ctx.ember).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("libember-heap.so").path
    guard access(shim, R_OK) == 0 else {
        ctx.rows.append(Row(name: "16 heap shim cost", perf: "-", ember: "-", ratio: "n/a", note: "no \(shim) (make shim CONFIG=release)"))
        return
    }
    let workloads = [("16a C malloc+free", ctx.heapC, 50_000_000), ("16b Swift objects", ctx.heapSwift, 20_000_000)]
    for (name, program, rounds) in workloads {
        guard !program.isEmpty else {
            ctx.rows.append(Row(name: name, perf: "-", ember: "-", ratio: "n/a", note: "no --heap-c / --heap-swift workload given"))
            continue
        }
        let file = ctx.path("heap.data")
        defer { ctx.remove(file); ctx.remove(file + ".old") }
        let record = [ctx.ember, "record", "-q", "-o", file]
        let variants: [(label: String, argv: [String])] = [
            ("no shim", ["/usr/bin/env", program, String(rounds)]),
            ("shim, idle", ["/usr/bin/env", "LD_PRELOAD=\(shim)", program, String(rounds)]),
            ("--heap", record + ["--heap", "--", program, String(rounds)]),
            ("--heap -g", record + ["--heap", "-g", "--", program, String(rounds)]),
            ("--heap-uprobes -g", record + ["--heap-uprobes", "-g", "--", program, String(rounds / 100)]),
        ]
        var times = [[Double]](repeating: [], count: variants.count)
        let turns = max(ctx.runs * 3, 7)
        for _ in 0..<turns {
            for (i, variant) in variants.enumerated() {
                let out = ctx.path("heap.out")
                if let ns = ctx.attempt("\(name): \(variant.label)", { () throws -> Double in
                    _ = try runChecked(variant.argv, stdout: .file(out), stderrPath: ctx.stderrPath)
                    let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
                    guard let value = text.split(separator: " ").dropFirst().first.flatMap({ Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else {
                        throw BenchError.message("no ns-per-pair line in \(text)")
                    }
                    return value
                }) {
                    times[i].append(ns)
                }
            }
        }
        guard !times[0].isEmpty else { continue }
        let base = Stat(times[0]).median
        ctx.info("\(name): medians of \(turns) turns, ns per pair: " + variants.indices.compactMap { i in
            times[i].isEmpty ? nil : "\(variants[i].label) \(fmt(Stat(times[i]).median, 2))"
        }.joined(separator: ", "))
        let goals = ["", "goal <= 1.01x", "goal <= 1.05x", "goal <= 1.05x", "every malloc and free probed"]
        for i in variants.indices.dropFirst() where !times[i].isEmpty {
            let median = Stat(times[i]).median
            ctx.rows.append(Row(name: "\(name), \(variants[i].label)", perf: "\(fmt(base, 2)) ns", ember: "\(fmt(median, 2)) ns",
                                ratio: fmt(median / base, 3) + "x", note: "ns per pair against no shim (\(goals[i]))"))
        }
    }
}
