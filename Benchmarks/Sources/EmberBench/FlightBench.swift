// Benchmark 9: the flight recorder's intrusion. `ember record --overwrite -a -g` and `perf record --overwrite -a -g`
// each record for 60 s while two busy loops keep both CPUs at 100%; the recorder's own CPU time (from /proc, from
// 5 s in, so that start-up is not counted) and its resident memory at 5 s and at the end.

import Foundation

func benchFlight(_ ctx: Context) {
    ctx.section("9. flight recorder: recorder CPU time and memory over 60 s of --overwrite on two busy CPUs")
    let seconds = 60.0
    let emberOut = ctx.path("flight.data"), perfOut = ctx.path("flight-perf.data")
    defer {
        for dir in [ctx.workdir] {
            for f in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where f.hasPrefix("flight") { ctx.remove(ctx.path(f)) }
        }
    }
    func recorder(_ argv: [String]) throws -> (cpu: Double, rssStart: Int, rssEnd: Int) {
        let busy = (0..<2).map { _ -> Process in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "while :; do :; done"]
            return p
        }
        for p in busy { try p.run() }
        defer { for p in busy { p.terminate() } }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle(forWritingAtPath: ctx.stderrPath) ?? FileHandle.nullDevice
        try p.run()
        let pid = p.processIdentifier
        Thread.sleep(forTimeInterval: 5)
        let start = cpuSeconds(pid), rssStart = rssKiB(pid)
        Thread.sleep(forTimeInterval: seconds - 6)
        let end = cpuSeconds(pid), rssEnd = rssKiB(pid)
        p.waitUntilExit()
        guard let start, let end else { throw BenchError.message("\(argv[0]) exited early") }
        return (end - start, rssStart ?? 0, rssEnd ?? 0)
    }
    let ember = ctx.attempt("ember record --overwrite") {
        try recorder([ctx.ember, "record", "--overwrite", "-a", "-g", "-q", "--duration", "\(Int(seconds))", "-o", emberOut])
    }
    let perf = ctx.attempt("perf record --overwrite") {
        try recorder([ctx.perf.contains("/") ? ctx.perf : "/usr/bin/" + ctx.perf, "record", "--overwrite", "-a", "-g", "-q",
                      "--switch-output=signal", "-o", perfOut, "--", "sleep", "\(Int(seconds))"])
    }
    func text(_ r: (cpu: Double, rssStart: Int, rssEnd: Int)?) -> String {
        r.map { "\(fmt($0.cpu, 2)) s CPU (\(fmt(100 * $0.cpu / (seconds - 6), 3))%), RSS \(mebibytes(kib: Double($0.rssStart)))->\(mebibytes(kib: Double($0.rssEnd)))" } ?? "failed"
    }
    ctx.info("ember: \(text(ember)); perf: \(text(perf))")
    ctx.rows.append(Row(name: "9 flight recorder CPU over \(Int(seconds - 6)) s", perf: text(perf), ember: text(ember),
                        ratio: ember != nil && perf != nil ? ratio(perf!.cpu, max(ember!.cpu, 0.01)) : "n/a",
                        note: "perf's recorder CPU / ember's (clock ticks: 0.01 s resolution)"))
}

/// utime + stime of a process, from /proc/PID/stat.
func cpuSeconds(_ pid: Int32) -> Double? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.range(of: ")", options: .backwards) else { return nil }
    let fields = stat[close.upperBound...].split(separator: " ")
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// VmRSS of a process in KiB (with `peak`, VmHWM: the most it was).
func rssKiB(_ pid: Int32, peak: Bool = false) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix(peak ? "VmHWM:" : "VmRSS:") }) else { return nil }
    return line.split(separator: " ").compactMap { Int($0) }.first
}
