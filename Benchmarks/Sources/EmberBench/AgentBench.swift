// Benchmark 11: `ember agent`'s intrusion. The demo's rounds in 3 s of its CPU time: alone, with the agent idle
// (started, no request), during a 99 Hz profile request to the agent, under `perf record -F 99 -g -a`, and with a
// `--continuous` agent (-g, 60 s) holding its window; the agents' own CPU time meanwhile; their resident memory over
// 2,000 consecutive requests each, read every 250 (`requests` sets how many).

import Foundation

func benchAgent(_ ctx: Context) {
    ctx.section("11. agent intrusion: demo rounds in 3 s of CPU, and the agent's CPU and memory")
    let port = 21000 + Int(getpid() % 10000)
    let base = "http://127.0.0.1:\(port)"
    func rounds(_ argv: [String]) -> Int? {
        let out = ctx.path("agent-demo.txt")
        defer { ctx.remove(out) }
        _ = try? runChild(argv, stdout: .file(out), stderrPath: ctx.stderrPath)
        let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        guard let r = text.range(of: "demo: ") else { return nil }
        return Int(text[r.upperBound...].prefix { $0.isNumber })
    }
    func median(_ values: [Int]) -> Double { values.isEmpty ? .nan : Double(values.sorted()[values.count / 2]) }
    func curl(_ path: String) { _ = try? runChild(["/usr/bin/curl", "-s", "-o", "/dev/null", base + path], stderrPath: ctx.stderrPath) }

    func startAgent(_ arguments: [String], port: Int) -> Process? {
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: ctx.ember)
        agent.arguments = ["agent", "-a", "-F", "99", "--listen", "127.0.0.1:\(port)"] + arguments
        agent.standardOutput = FileHandle.nullDevice
        agent.standardError = FileHandle.nullDevice
        guard (try? agent.run()) != nil else {
            ctx.rows.append(Row(name: "11 agent", perf: "-", ember: "-", ratio: "n/a", note: "the agent did not start"))
            return nil
        }
        Thread.sleep(forTimeInterval: 1)
        guard agent.isRunning else {
            ctx.rows.append(Row(name: "11 agent \(arguments.joined(separator: " "))", perf: "-", ember: "-", ratio: "n/a", note: "the agent exited"))
            return nil
        }
        return agent
    }

    let alone = (0..<ctx.runs).compactMap { _ in rounds([ctx.demo, "3"]) }
    guard let agent = startAgent([], port: port) else { return }
    defer { agent.terminate(); agent.waitUntilExit() }
    let cpuBefore = cpuSeconds(agent.processIdentifier)
    let idle = (0..<ctx.runs).compactMap { _ in rounds([ctx.demo, "3"]) }
    let idleCPU = cpuSeconds(agent.processIdentifier).flatMap { end in cpuBefore.map { end - $0 } }
    var during: [Int] = []
    for _ in 0..<ctx.runs {
        let request = Process()
        request.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        request.arguments = ["-s", "-o", "/dev/null", base + "/debug/pprof/profile?seconds=4"]
        try? request.run()
        if let r = rounds([ctx.demo, "3"]) { during.append(r) }
        request.waitUntilExit()
    }
    let perfFile = ctx.path("agent-perf.data")
    let underPerf = (0..<ctx.runs).compactMap { _ -> Int? in
        defer { ctx.remove(perfFile) }
        return rounds([ctx.perf, "record", "-q", "-F", "99", "-g", "-a", "-o", perfFile, "--", ctx.demo, "3"])
    }
    let onDemand = residentMemory(agent.processIdentifier) { curl("/debug/pprof/profile?seconds=0.05") }
    agent.terminate()
    agent.waitUntilExit()

    guard let window = startAgent(["--continuous", "--max-seconds", "60"], port: port + 1) else { return }
    defer { window.terminate(); window.waitUntilExit() }
    let windowBefore = cpuSeconds(window.processIdentifier)
    let holding = (0..<ctx.runs).compactMap { _ in rounds([ctx.demo, "3"]) }
    let windowCPU = cpuSeconds(window.processIdentifier).flatMap { end in windowBefore.map { end - $0 } }
    let windowBase = "http://127.0.0.1:\(port + 1)"
    func windowRequest() { _ = try? runChild(["/usr/bin/curl", "-s", "-o", "/dev/null", windowBase + "/debug/pprof/profile?seconds=1"], stderrPath: ctx.stderrPath) }
    let started = Date()
    let continuous = residentMemory(window.processIdentifier, windowRequest)
    let perRequest = Date().timeIntervalSince(started) / Double(requests + 5)

    ctx.info("demo rounds (median of \(ctx.runs)): alone \(fmt(median(alone), 0)), agent idle \(fmt(median(idle), 0)), during a 99 Hz agent request \(fmt(median(during), 0)), under perf record -F 99 -g -a \(fmt(median(underPerf), 0))")
    ctx.info("agent CPU while idle over the idle runs: \(idleCPU.map { fmt($0, 3) + " s" } ?? "?")")
    ctx.info("agent RSS (MiB) after 5 requests, then every 250 of \(requests): \(onDemand.text)")
    ctx.info("--continuous agent (-g, 60 s): demo rounds \(fmt(median(holding), 0)), its CPU over those runs \(windowCPU.map { fmt($0, 3) + " s" } ?? "?"), a 1 s request answered in \(fmt(perRequest * 1000, 0)) ms, RSS (MiB) every 250 requests: \(continuous.text)")
    func loss(_ values: [Int]) -> String { fmt((1 - median(values) / median(alone)) * 100, 2) + "%" }
    ctx.rows.append(Row(name: "11a demo throughput lost, agent idle", perf: "-", ember: loss(idle), ratio: "n/a", note: "goal < 0.1% (within noise)"))
    ctx.rows.append(Row(name: "11b lost during a 99 Hz profile", perf: loss(underPerf), ember: loss(during), ratio: "n/a", note: "perf record -F 99 -g -a vs the agent"))
    ctx.rows.append(Row(name: "11c agent RSS over \(requests) requests", perf: "-", ember: onDemand.range, ratio: "n/a", note: "flat is the goal"))
    ctx.rows.append(Row(name: "11d lost with a --continuous window", perf: "-", ember: loss(holding), ratio: "n/a", note: "the window's rings always open"))
    ctx.rows.append(Row(name: "11e --continuous RSS over \(requests) requests", perf: "-", ember: continuous.range, ratio: "n/a", note: "flat is the goal"))
}

/// Requests each agent answers while its memory is read.
private let requests = Int(ProcessInfo.processInfo.environment["EMBER_BENCH_AGENT_REQUESTS"] ?? "") ?? 2000

/// The resident memory of `pid` after 5 warm-up requests and after every 250 of `requests` more, and its peak: as
/// text (each reading in MiB, then the peak) and as the range of the readings after the warm-up.
private func residentMemory(_ pid: Int32, _ request: () -> Void) -> (text: String, range: String) {
    for _ in 0..<5 { request() }
    var readings = [rssKiB(pid) ?? 0]
    for i in 1...requests {
        request()
        if i % 250 == 0 || i == requests { readings.append(rssKiB(pid) ?? 0) }
    }
    let peak = rssKiB(pid, peak: true) ?? 0
    func mib(_ kib: Int) -> String { fmt(Double(kib) / 1024, 1) }
    let later = readings.dropFirst()
    return (readings.map(mib).joined(separator: " ") + " (peak \(mib(peak)))",
            "\(mib(later.min() ?? 0))-\(mib(later.max() ?? 0)) MiB (peak \(mib(peak)))")
}
