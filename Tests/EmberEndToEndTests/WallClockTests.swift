import Foundation
import XCTest

/// Wall-clock profiles (`record --off-cpu`): a program whose threads' time on and off the CPU is known, read back
/// by every reader with both halves, weighed in time.
final class WallClockTests: XCTestCase {
    /// Records `wallclock.c`; the recording, and each thread's lifetime as it measured it (tid -> ns).
    private func record(_ extra: [String] = []) throws -> (file: String, lifetimes: [Int: Double], dir: String) {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let program = try Tool.compileC(source: Tool.packageRoot.appendingPathComponent("Tests/Programs/wallclock.c").path,
                                        name: "wallclock", flags: ["-O2", "-g", "-fno-omit-frame-pointer", "-pthread"])
        let file = dir + "/wall.data", truth = dir + "/lifetimes.txt"
        let r = try Tool.ember(["record", "--off-cpu", "-q", "-o", file] + extra + ["--", program, truth])
        XCTAssertEqual(r.status, 0, r.stderr)
        var lifetimes: [Int: Double] = [:]
        for line in try String(contentsOfFile: truth, encoding: .utf8).split(separator: "\n") {
            let fields = line.split(separator: " ")
            lifetimes[Int(fields[0])!] = Double(fields[1])!
        }
        XCTAssertEqual(lifetimes.count, 2)
        return (file, lifetimes, dir)
    }

    /// Per thread, the time on the CPU (samples, by their periods) and off it (blocked, or preempted and waiting for
    /// a CPU) add up to its lifetime, and the off-CPU half, under `[off-cpu]`, is at least the time each slept: 40 x
    /// 10 ms in doze(), 40 x 4 ms in rest().
    func testOnAndOffCPUTimeAddUpToEachThreadsLifetime() throws {
        let (file, lifetimes, _) = try record()
        let folded = parseFolded(try Tool.ember(["collapse", "--tid", "-i", file]).stdout)
        var total: [Int: Double] = [:], off: [Int: Double] = [:]
        for (stack, weight) in folded {
            // "comm-PID/TID;frames..."
            guard let root = stack.split(separator: ";").first, let tid = Int(root.split(separator: "/").last ?? "") else { continue }
            total[tid, default: 0] += Double(weight)
            if stack.hasSuffix(";[off-cpu]") { off[tid, default: 0] += Double(weight) }
        }
        for (tid, lifetime) in lifetimes {
            let measured = try XCTUnwrap(total[tid], "no stacks of thread \(tid): \(folded.keys)")
            XCTAssertEqual(measured, lifetime, accuracy: lifetime * 0.05, "thread \(tid): on + off CPU against its lifetime")
        }
        let asleep = off.values.sorted()
        XCTAssertEqual(asleep.count, 2, "\(off)")
        // At least the time asleep; more when a loaded machine preempts the threads.
        XCTAssertGreaterThanOrEqual(asleep[0], 160e6 * 0.95, "the worker's 40 x 4 ms")
        XCTAssertGreaterThanOrEqual(asleep[1], 400e6 * 0.95, "the main thread's 40 x 10 ms")
        // Stacks repaired by default: the time asleep goes through sleep_ms, which called libc's nanosleep (the
        // kernel's frame-pointer chain alone skips it).
        let sleeping = folded.filter { $0.key.hasSuffix(";[off-cpu]") && $0.key.contains(";clock_nanosleep;") }
        let throughSleepMs = sleeping.filter { $0.key.contains(";sleep_ms;__nanosleep;") }.values.reduce(0, +)
        XCTAssertGreaterThanOrEqual(Double(throughSleepMs), Double(sleeping.values.reduce(0, +)) * 0.95, "\(sleeping.keys)")
        // The CPU half alone, and the off-CPU half alone.
        let on = parseFolded(try Tool.ember(["collapse", "-i", file, "--on-cpu-only"]).stdout)
        XCTAssertFalse(on.keys.contains { $0.contains("[off-cpu]") })
        let blocked = parseFolded(try Tool.ember(["collapse", "-i", file, "--off-cpu-only"]).stdout)
        XCTAssertEqual(Double(blocked.values.reduce(0, +)), asleep.reduce(0, +), accuracy: 1)
        let both = try Tool.ember(["collapse", "-i", file, "--on-cpu-only", "--off-cpu-only"])
        XCTAssertEqual(both.status, 1)
        XCTAssertTrue(both.stderr.contains("choose opposite halves"), both.stderr)
    }

    /// The flame graph says what it shows and colours what is all off-CPU blue; report has a state column;
    /// speedscope has both halves per thread; pprof has wall time with a state label (read back by `go tool pprof`).
    func testEveryReaderShowsBothHalves() throws {
        let (file, _, dir) = try record()
        let svg = dir + "/wall.svg"
        XCTAssertEqual(try Tool.ember(["flamegraph", "-i", file, "-o", svg]).status, 0)
        let text = try String(contentsOfFile: svg, encoding: .utf8)
        XCTAssertTrue(text.contains("Wall-clock time"), "the title")
        XCTAssertTrue(text.contains(">off-CPU (blocked, by time)</text>"), "the legend")
        // `<g ...><title>[off-cpu] (...)</title><rect ... fill="rgb(R,G,B)"`: blue, and its caller's title gives the share.
        let offFrame = try XCTUnwrap(text.components(separatedBy: "<title>[off-cpu] (").dropFirst().first)
        let fill = offFrame.components(separatedBy: "fill=\"rgb(")[1].prefix { $0 != ")" }.split(separator: ",").compactMap { Int($0) }
        XCTAssertTrue(fill.count == 3 && fill[2] > fill[0] + 60, "blue: \(fill)")
        XCTAssertTrue(text.contains("<title>main (") && text.contains("; off-CPU "), "main's title gives its off-CPU share")

        let report = try Tool.ember(["report", "-i", file, "--no-children"])
        XCTAssertEqual(report.status, 0, report.stderr)
        XCTAssertTrue(report.stdout.contains("Overhead  State    Command"), report.stdout)
        XCTAssertTrue(report.stdout.contains("off-cpu  wallclock") && report.stdout.contains("on-cpu   wallclock"), report.stdout)
        let onOnly = try Tool.ember(["report", "-i", file, "--on-cpu-only"])
        XCTAssertFalse(onOnly.stdout.contains("off-cpu"), onOnly.stdout)

        // speedscope: a profile a thread, weighed in ns, the off-CPU stacks under [off-cpu]; a thread's whole weight is
        // what collapse gives it.
        let json = dir + "/wall.speedscope.json"
        XCTAssertEqual(try Tool.ember(["export", "--format", "speedscope", "-i", file, "-o", json]).status, 0)
        let speedscope = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
        let frames = try XCTUnwrap((speedscope["shared"] as? [String: Any])?["frames"] as? [[String: Any]])
        XCTAssertTrue(frames.contains { $0["name"] as? String == "[off-cpu]" })
        let folded = parseFolded(try Tool.ember(["collapse", "--tid", "-i", file]).stdout)
        for profile in try XCTUnwrap(speedscope["profiles"] as? [[String: Any]]) {
            let tid = try XCTUnwrap((profile["name"] as? String)?.split(separator: "/").last)
            let expected = folded.filter { $0.key.split(separator: ";")[0].hasSuffix("/" + tid) }.values.reduce(0, +)
            XCTAssertEqual(profile["unit"] as? String, "nanoseconds")
            XCTAssertEqual((profile["endValue"] as? NSNumber)?.uint64Value, expected, "thread \(tid)")
        }
        let firefox = try Tool.ember(["export", "--format", "firefox", "--off-cpu-only", "-i", file, "-o", dir + "/ff.json.gz"])
        XCTAssertEqual(firefox.status, 1)
        XCTAssertTrue(firefox.stderr.contains("export off-CPU time with --format speedscope"), firefox.stderr)

        try requireGo()
        let gz = dir + "/wall.pb.gz"
        XCTAssertEqual(try Tool.ember(["pprof", "-i", file, "-o", gz]).status, 0)
        let top = try Tool.run("/usr/bin/go", ["tool", "pprof", "-top", "-nodefraction=0", "-tagfocus", "state=off-cpu", gz])
        XCTAssertEqual(top.status, 0, top.stderr)
        XCTAssertTrue(top.stdout.contains("Type: wall"), top.stdout)
        // Off-CPU time alone ("Showing nodes accounting for 565.90ms, ..."): what collapse --off-cpu-only folds.
        let shown = try XCTUnwrap(top.stdout.split(separator: "\n").first { $0.contains("Showing nodes accounting for ") })
        let ms = Double(shown.components(separatedBy: "accounting for ").last?.split(separator: "m").first ?? "") ?? 0
        let blocked = parseFolded(try Tool.ember(["collapse", "-i", file, "--off-cpu-only"]).stdout).values.reduce(0, +)
        XCTAssertEqual(ms, Double(blocked) / 1e6, accuracy: 0.1, String(shown))
        XCTAssertGreaterThanOrEqual(ms, 560 * 0.95, "the two threads' sleeps, 560 ms in all")
    }

    /// The one-shot flame graph records both halves with --off-cpu; record and flamegraph refuse what does not fit.
    func testOneShotAndMisuse() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let shot = try Tool.ember(["flamegraph", "--off-cpu", "-o", dir + "/shot.svg", "--", "/bin/sleep", "0.2"])
        XCTAssertEqual(shot.status, 0, shot.stderr)
        XCTAssertTrue(shot.stderr.contains("(off-CPU)"), "the list names where it blocked: \(shot.stderr)")
        XCTAssertTrue(try String(contentsOfFile: dir + "/shot.svg", encoding: .utf8).contains("Wall-clock time"))
        // A command that barely ran on the CPU is pointed at --off-cpu.
        let idle = try Tool.ember(["record", "-o", dir + "/idle.data", "--", "/bin/sleep", "0.3"])
        XCTAssertTrue(idle.stderr.contains("ember record --off-cpu -- /bin/sleep 0.3"), idle.stderr)
        for (arguments, mention) in [
            (["record", "--off-cpu", "-a", "--duration", "0.1"], "--off-cpu follows a command or -p processes"),
            (["record", "--off-cpu", "-e", "sched:sched_wakeup", "--", "/bin/true"], "sample cpu-clock or task-clock"),
            (["flamegraph", "--off-cpu", "-i", dir + "/idle.data"], "--off-cpu records a command"),
        ] {
            let r = try Tool.ember(arguments)
            XCTAssertNotEqual(r.status, 0, "\(arguments)")
            XCTAssertTrue(r.stderr.contains(mention), "\(arguments): \(r.stderr)")
        }
    }
}
