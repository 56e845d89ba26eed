// Benchmark 14: fold throughput by file size, so that the fixed cost (start-up, the header, symbols) and the cost
// per byte separate. perf records the demo (two copies, one per CPU, -F 50,000 -g) into files of about 0.5, 4, 40
// and 400 MB; `ember collapse --no-inline` and `perf report -g folded` fold each, reported in MB/s of perf.data.
// (perf script on the largest file takes minutes; benchmark 1 has it on the 50k-sample file.)

import Foundation

private let sizes: [(label: String, bytes: Double)] = [("0.5MB", 0.5e6), ("4MB", 4e6), ("40MB", 40e6), ("400MB", 400e6)]

private func fileBytes(_ path: String) -> Double {
    Double(((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0) ?? 0)
}

private func recordDemos(_ ctx: Context, _ file: String, seconds: Double) throws {
    ctx.remove(file)
    let demo = "\(ctx.demo) \(fmt(seconds, 2)) >/dev/null"
    try runChecked([ctx.perf, "record", "-q", "-F", "50000", "-g", "-o", file, "--", "/bin/sh", "-c", "\(demo) & \(demo); wait"],
                   stderrPath: ctx.stderrPath)
}

func benchFoldThroughput(_ ctx: Context) {
    ctx.section("14. fold throughput by file size: ember collapse --no-inline and perf report -g folded (\(ctx.runs) runs, 1 from 40 MB)")
    let probe = ctx.path("fold-probe.data")
    guard let rate = ctx.attempt("recording the probe", { () -> Double in
        try recordDemos(ctx, probe, seconds: 0.5)
        return fileBytes(probe) / 0.5
    }), rate > 0 else { return }
    ctx.remove(probe)
    for (label, target) in sizes {
        let file = ctx.path("fold-\(label).data")
        defer { ctx.remove(file) }
        guard ctx.attempt("recording \(label)", { try recordDemos(ctx, file, seconds: max(target / rate, 0.05)) }) != nil else { continue }
        let bytes = fileBytes(file)
        let runs = target >= 40e6 ? 1 : ctx.runs
        // Untimed first: the page cache holds the file for both.
        _ = try? runChecked([ctx.ember, "collapse", "--no-inline", "-i", file], stdout: .devNull, stderrPath: ctx.stderrPath)
        let ember = ctx.attempt("ember collapse \(label)") {
            try measure("ember collapse", [ctx.ember, "collapse", "--no-inline", "-i", file], runs: runs, stderrPath: ctx.stderrPath)
        }
        let perf = ctx.attempt("perf report \(label)") {
            try measure("perf report", [ctx.perf, "report", "-i", file, "--stdio", "--no-children", "-g", "folded,0,caller,count"],
                        runs: runs, stderrPath: ctx.stderrPath)
        }
        let mbps = { (t: Timing?) in t.map { bytes / 1e6 / $0.wall.best } ?? .nan }
        ctx.info("\(label): \(fmt(bytes / 1e6, 1)) MB; ember \(ember.map { seconds($0.wall.best) } ?? "failed") (\(fmt(mbps(ember), 0)) MB/s, peak RSS \(ember.map { mebibytes(kib: $0.maxRSSKiB.best) } ?? "-")), perf report \(perf.map { seconds($0.wall.best) } ?? "failed") (\(fmt(mbps(perf), 0)) MB/s)")
        ctx.rows.append(Row(name: "14 fold \(label) (\(fmt(bytes / 1e6, 1)) MB)", perf: "\(fmt(mbps(perf), 0)) MB/s", ember: "\(fmt(mbps(ember), 0)) MB/s",
                            ratio: ratio(perf?.wall.best ?? .nan, ember?.wall.best ?? .nan), note: "perf report -g folded / ember collapse time; goal >= 300 MB/s at 400 MB"))
    }
}
