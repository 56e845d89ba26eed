import Foundation
import XCTest

/// `ember latency` against ground truth: the kernel's own schedstat totals, `perf sched latency` on perf's
/// recording, and a sleeper whose off-CPU time is known.
final class LatencyTests: XCTestCase {
    /// Sleeps 200 x 1 ms, 50 x 5 ms and 10 x 20 ms through nap(), writing each duration to its argument's file.
    private func sleeper() throws -> String {
        try Tool.compileC(source: Tool.packageRoot.appendingPathComponent("Tests/Programs/sleeper.c").path, name: "sleeper", flags: ["-O2", "-g"])
    }

    /// Per-thread sched rows from `--json --per-thread` output: tid -> (count, total, max).
    private func threadRows(_ json: String, kind: String) throws -> [Int: (count: Int, total: Double, max: Double)] {
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        var out: [Int: (Int, Double, Double)] = [:]
        for row in try XCTUnwrap(object["rows"] as? [[String: Any]]) where row["kind"] as? String == kind {
            guard let tid = row["tid"] as? Int else { continue }
            out[tid] = (row["count"] as? Int ?? 0, (row["total_ns"] as? NSNumber)?.doubleValue ?? 0, (row["max_ns"] as? NSNumber)?.doubleValue ?? 0)
        }
        return out
    }

    /// Four CPU hogs on two cores: each thread's run-queue total agrees with its schedstat run delay within 5%.
    func testRunQueueDelayAgreesWithSchedstat() throws {
        try requireRoot()
        let hogs = try Hogs.program()
        let dir = try Tool.scratchDirectory()
        let truth = dir + "/schedstat.txt"
        let r = try Tool.ember(["latency", "--sched", "--per-thread", "--json", "-o", dir + "/lat.data", "--", hogs, "4", "300", truth])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try threadRows(r.stdout, kind: "sched")
        try Hogs.assertTotalsAgree(rows.mapValues(\.total), truth: truth, threads: 4, output: r.stdout)
    }

    /// On perf's own `perf sched record` file: the same switches (within the one first wake-up perf leaves out)
    /// and the same maximum delay as `perf sched latency` for every busy thread.
    func testPerfSchedRecordAgreesWithPerfSchedLatency() throws {
        try requireRoot()
        try requirePerf()
        let hogs = try Hogs.program()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/perf.data"
        XCTAssertEqual(try Tool.perf(["sched", "record", "-o", file, "--", hogs, "4", "300", dir + "/out.txt"]).status, 0)
        let perf = try Tool.perf(["sched", "latency", "-i", file, "-p"])
        let r = try Tool.ember(["latency", "-i", file, "--sched", "--per-thread", "--json", "--comm", "hogs"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try threadRows(r.stdout, kind: "sched")
        var checked = 0
        // "  hogs:3774  |  300.033 ms |  193 | avg:   1.619 ms | max:   4.599 ms | ..."
        for line in perf.stdout.split(separator: "\n") where line.contains("hogs:") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count > 4, let tid = Int(cells[0].split(separator: ":").last ?? ""), let switches = Int(cells[2]),
                  switches > 10 else { continue }
            let maxMs = Double(cells[4].split(separator: " ").dropFirst().first ?? "") ?? -1
            let row = try XCTUnwrap(rows[tid], "no row for thread \(tid)")
            XCTAssertLessThanOrEqual(abs(row.count - switches), 1, "thread \(tid): \(row.count) vs perf's \(switches) switches")
            if row.count == switches {
                XCTAssertEqual(row.max / 1e6, maxMs, accuracy: 0.01, "thread \(tid): max delay")
            } else {
                // The one wait perf leaves out (a new thread's first) may be the longest.
                XCTAssertGreaterThanOrEqual(row.max / 1e6, maxMs - 0.01, "thread \(tid): max delay")
            }
            checked += 1
        }
        XCTAssertEqual(checked, 4, perf.stdout)
    }

    /// A command that sleeps 300 ms is off CPU for that long, and the report keeps to the command's processes.
    func testOffCPUTimeOfASleeper() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let r = try Tool.ember(["latency", "--offcpu", "--json", "-o", dir + "/lat.data", "--", "/bin/sleep", "0.3"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let rows = try XCTUnwrap(object["rows"] as? [[String: Any]])
        XCTAssertEqual(Set(rows.compactMap { $0["comm"] as? String }), ["sleep"], "only the command's process")
        let total = try XCTUnwrap((rows.first { $0["kind"] as? String == "offcpu" }?["total_ns"] as? NSNumber)?.doubleValue)
        XCTAssertEqual(total, 3e8, accuracy: 3e8 * 0.05)
    }

    /// `--time` slices a latency recording as it slices the readers': a 0.3 s sleep that ends in the last half
    /// leaves the first half with its start only (unfinished), and a span outside the recording is refused.
    func testTimeSlicesOfALatencyRecording() throws {
        try requireRoot()
        let file = try Tool.scratchDirectory() + "/lat.data"
        XCTAssertEqual(try Tool.ember(["latency", "--offcpu", "-o", file, "--", "/bin/sleep", "0.3"]).status, 0)
        let whole = try Tool.ember(["latency", "-i", file, "--offcpu", "--json"])
        let late = try Tool.ember(["latency", "-i", file, "--offcpu", "--json", "--time", "95%-100%"])
        XCTAssertEqual(late.status, 0, late.stderr)
        XCTAssertNotEqual(whole.stdout, late.stdout, "the slice changes the report")
        let outside = try Tool.ember(["latency", "-i", file, "--time", "99999999,"])
        XCTAssertEqual(outside.status, 1)
        XCTAssertTrue(outside.stderr.contains("is outside the recording"), outside.stderr)
    }

    /// `latency` says what it recorded under its own name and how to read it again; `latency -i` reports the kinds
    /// the recording holds (a --syscalls recording: syscalls, not a refusal for want of sched events); a flag
    /// narrows, and a kind the file lacks is refused with how to record it.
    func testReadingARecordingReportsTheKindsItHolds() throws {
        try requireRoot()
        let file = try Tool.scratchDirectory() + "/sys.data"
        let recorded = try Tool.ember(["latency", "--syscalls", "-o", file, "--", "/bin/sleep", "0.1"])
        XCTAssertEqual(recorded.status, 0, recorded.stderr)
        // Said under its own name, with how to read it again.
        XCTAssertTrue(recorded.stderr.contains("ember latency: ") && recorded.stderr.contains(" events, 0 lost, wrote "), recorded.stderr)
        XCTAssertTrue(recorded.stderr.contains("ember: next: ember latency -i \(file) --hist\n"), recorded.stderr)
        let read = try Tool.ember(["latency", "-i", file, "--json"])
        XCTAssertEqual(read.status, 0, read.stderr)
        XCTAssertTrue(read.stdout.contains("\"kind\": \"syscall\""), read.stdout)
        XCTAssertFalse(read.stdout.contains("\"kind\": \"sched\""), read.stdout)
        // As text: one table in at most 100 columns, process rows by total time, none that measured nothing.
        let text = try Tool.ember(["latency", "-i", file])
        let table = text.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }
        XCTAssertTrue(table.first?.hasPrefix("PROCESS       WAIT") == true && table.first?.hasSuffix("UNFIN  ERR") == true, text.stdout)
        XCTAssertEqual(table.filter { $0.hasPrefix("PROCESS") }.count, 1, "one header: \(text.stdout)")
        XCTAssertTrue(table.allSatisfy { $0.count <= 100 }, text.stdout)
        let rows = table.dropFirst().map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        XCTAssertTrue(rows.contains { $0.contains("syscall") && $0.contains("clock_nanosleep") }, text.stdout)
        XCTAssertFalse(rows.contains { $0.count > 4 && $0[$0.count - 9] == "0" }, "no row of count 0: \(text.stdout)")
        // The command was recorded alone: read back, even with every process asked for, it is all there is.
        XCTAssertTrue(rows.allSatisfy { $0.count > 1 && $0[1] == "sleep" }, text.stdout)
        let all = try Tool.ember(["latency", "-i", file, "--all-processes"])
        XCTAssertEqual(all.stdout, text.stdout, "nothing but the command, not the recorder")
        let lacking = try Tool.ember(["latency", "-i", file, "--offcpu"])
        XCTAssertEqual(lacking.status, 1)
        XCTAssertTrue(lacking.stderr.contains("has no sched:sched_switch events"), lacking.stderr)
    }

    /// A command's latency recording is the command's alone: collapse --offcpu folds its process tree (a shell and
    /// the sleep it forks), and --all-processes finds nothing else (not the recorder, not the machine).
    func testOffCPUStacksOfTheCommandNotTheMachine() throws {
        try requireRoot()
        let file = try Tool.scratchDirectory() + "/off.data"
        XCTAssertEqual(try Tool.ember(["latency", "--offcpu", "-o", file, "--", "/bin/sh", "-c", "/bin/sleep 0.2; true"]).status, 0)
        let folded = parseFolded(try Tool.ember(["collapse", "-i", file, "--offcpu"]).stdout)
        XCTAssertTrue(folded.keys.contains { $0.hasPrefix("sleep;") }, "\(folded.keys)")
        XCTAssertTrue(folded.keys.allSatisfy { $0.hasPrefix("sh;") || $0.hasPrefix("sleep;") }, "only the command's tree: \(folded.keys)")
        let everything = parseFolded(try Tool.ember(["collapse", "-i", file, "--offcpu", "--all-processes"]).stdout)
        XCTAssertEqual(everything, folded)
    }

    /// 200 x 1 ms, 50 x 5 ms and 10 x 20 ms of sleep through one function: --func counts exactly 260 calls with
    /// the measured p50, p99 and maximum, --syscalls names the sleeps, and the off-CPU total is the time asleep.
    func testSleepScheduleThroughFunctionSyscallAndOffCPU() throws {
        try requireRoot()
        let sleeper = try self.sleeper()
        let dir = try Tool.scratchDirectory()
        let truth = dir + "/durations.txt"
        let heatmap = dir + "/heat.svg"
        let r = try Tool.ember(["latency", "--offcpu", "--syscalls", "--func", sleeper + ":nap", "--json", "--heatmap", heatmap,
                                "--heatmap-of", "function", "-o", dir + "/lat.data", "--", sleeper, truth])
        XCTAssertEqual(r.status, 0, r.stderr)
        let measured = try String(contentsOfFile: truth, encoding: .utf8).split(separator: "\n").compactMap { Double($0) }.sorted()
        XCTAssertEqual(measured.count, 260)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let rows = try XCTUnwrap(object["rows"] as? [[String: Any]]).filter { $0["tid"] is NSNull }
        func row(_ kind: String, _ name: (String) -> Bool) throws -> [String: Any] {
            try XCTUnwrap(rows.first { $0["kind"] as? String == kind && name($0["name"] as? String ?? "") }, "no \(kind) row in \(r.stdout)")
        }
        func number(_ row: [String: Any], _ key: String) -> Double { (row[key] as? NSNumber)?.doubleValue ?? -1 }
        let nap = try row("function") { $0.hasSuffix(":nap") }
        XCTAssertEqual(nap["count"] as? Int, 260)
        let buckets = try XCTUnwrap(nap["histogram"] as? [[NSNumber]])
        XCTAssertEqual(buckets.reduce(0) { $0 + $1[2].intValue }, 260, "the log2 histogram holds every call")
        XCTAssertTrue(buckets.contains { $0[0].intValue <= 1_100_000 && $0[1].intValue >= 1_100_000 && $0[2].intValue >= 190 },
                      "the 1 ms sleeps land in the 1024-2047 µs bucket: \(buckets)")
        for (key, expected) in [("p50_ns", measured[measured.count / 2]), ("p99_ns", measured[Int(Double(measured.count) * 0.99)]),
                                ("max_ns", measured.last!)] {
            XCTAssertEqual(number(nap, key), expected, accuracy: expected * 0.1, key)
        }
        XCTAssertEqual(try row("syscall") { $0 == "clock_nanosleep" }["count"] as? Int, 260)
        // The heat map's cells (hover titles "FROM-TO s, LOW-HIGH: N waits") hold every call, most at 1-2 ms.
        let svg = try String(contentsOfFile: heatmap, encoding: .utf8)
        let cells = svg.components(separatedBy: "<title>").dropFirst().map { $0.prefix { $0 != "<" } }
        let counts = cells.compactMap { cell in Int(cell.split(separator: ":").last?.split(separator: " ").first ?? "") }
        XCTAssertEqual(counts.reduce(0, +), 260, svg)
        let oneToTwo = cells.filter { $0.contains("1 ms-2 ms") }.compactMap { Int($0.split(separator: ":").last?.split(separator: " ").first ?? "") }
        XCTAssertGreaterThanOrEqual(oneToTwo.reduce(0, +), 190, "the 1 ms sleeps (a loaded machine may stretch a few)")
        let asleep = measured.reduce(0, +)
        XCTAssertEqual(number(try row("offcpu") { _ in true }, "total_ns"), asleep, accuracy: asleep * 0.05, r.stdout)
        // The probes' return trampoline (x86-64's uretprobe syscall) is the probe's cost, not a row of the program's.
        XCTAssertFalse(rows.contains { $0["name"] as? String == "uretprobe" }, r.stdout)
    }

    /// The command alone, with stacks only where they are folded: with DWARF stacks, all four kinds of the sleeper
    /// (its syscalls, probes and context switches) lose nothing at the default ring size and take a few MB, where
    /// stacks on every event of every CPU took 310 MB and lost 10,184 events.
    func testDWARFLatencyRecordingOfTheCommandAloneLosesNothing() throws {
        try requireRoot()
        let sleeper = try self.sleeper()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/lat.data"
        let r = try Tool.ember(["latency", "--sched", "--offcpu", "--syscalls", "--func", sleeper + ":nap", "--call-graph", "dwarf",
                                "--json", "-o", file, "--", sleeper, dir + "/durations.txt"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains(" events, 0 lost, "), r.stderr)
        let bytes = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        XCTAssertLessThan(bytes, 40_000_000, "stacks only on the switches out")
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let rows = try XCTUnwrap(object["rows"] as? [[String: Any]])
        let nap = try XCTUnwrap(rows.first { ($0["name"] as? String)?.hasSuffix(":nap") == true })
        XCTAssertEqual(nap["count"] as? Int, 260, "every call measured")
        XCTAssertEqual(nap["unfinished"] as? Int, 0)
        // Run-queue delay from the command's context switches and the wakeups others make: every wait it woke from.
        let sched = try XCTUnwrap(rows.first { $0["kind"] as? String == "sched" }, r.stdout)
        XCTAssertGreaterThanOrEqual(sched["count"] as? Int ?? 0, 260, r.stdout)
        // Only the switch a thread blocks in has a stack (as perf reads the file's attrs): no syscall, probe or wakeup.
        try requirePerf()
        let attrs = try Tool.perf(["evlist", "-v", "-i", file]).stdout.split(separator: "\n")
        XCTAssertEqual(attrs.filter { $0.contains("STACK_USER") }.map { $0.components(separatedBy: ": type:")[0] }, ["sched:sched_switch"],
                       attrs.joined(separator: "\n"))
    }

    /// Off-CPU stacks: the sleeper's blocked time folds into stacks through nap() (DWARF stacks through libc, which
    /// has no frame pointers), weighing the time asleep; the flame graph says what it shows.
    func testOffCPUStacksEndInTheSleepingFunction() throws {
        try requireRoot()
        let sleeper = try self.sleeper()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/lat.data", truth = dir + "/durations.txt"
        let r = try Tool.ember(["latency", "--offcpu", "--call-graph", "dwarf", "-o", file, "--", sleeper, truth])
        XCTAssertEqual(r.status, 0, r.stderr)
        let asleep = try String(contentsOfFile: truth, encoding: .utf8).split(separator: "\n").compactMap { Double($0) }.reduce(0, +)
        let folded = parseFolded(try Tool.ember(["collapse", "-i", file, "--offcpu"]).stdout).filter { $0.key.hasPrefix("sleeper;") }
        let throughNap = folded.filter { $0.key.contains(";main;nap;") }.values.reduce(0, +)
        XCTAssertEqual(Double(throughNap), asleep, accuracy: asleep * 0.05, "\(folded)")
        let svg = try Tool.ember(["flamegraph", "-i", file, "--offcpu", "-o", dir + "/off.svg"])
        XCTAssertEqual(svg.status, 0, svg.stderr)
        XCTAssertTrue(try String(contentsOfFile: dir + "/off.svg", encoding: .utf8).contains("Off-CPU time"))
    }

    /// A DWARF stack through a function with a return probe: the kernel puts its uretprobe trampoline where the
    /// function's return address was, and the unwind puts back the address the probe's return reported, so the
    /// off-CPU stacks go through main;nap as gdb's bt at the same point shows (perf prints `7fffffffdfff [unknown]`
    /// and loses main).
    func testDWARFStacksThroughAProbedFunctionAgreeWithGdb() throws {
        try requireRoot()
        let sleeper = try self.sleeper()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/lat.data"
        let r = try Tool.ember(["latency", "--offcpu", "--func", sleeper + ":nap", "--call-graph", "dwarf", "-o", file, "--",
                                sleeper, dir + "/durations.txt"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let folded = parseFolded(try Tool.ember(["collapse", "-i", file, "--off-cpu-only"]).stdout).filter { $0.key.hasPrefix("sleeper;") }
        let all = folded.values.reduce(0, +), through = folded.filter { $0.key.contains(";main;nap;") }.values.reduce(0, +)
        XCTAssertGreaterThan(all, 500_000_000, "the 650 ms asleep: \(folded)")
        XCTAssertGreaterThanOrEqual(Double(through), Double(all) * 0.99, "\(folded)")
        XCTAssertFalse(folded.keys.contains { $0.contains("[unknown]") }, "\(folded)")
        // The oracle: gdb stopped in clock_nanosleep has nap's caller as main.
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/gdb"), "gdb is not installed (make deps installs it)")
        let gdb = try Tool.run("/usr/bin/gdb", ["-q", "-batch", "-ex", "set breakpoint pending on", "-ex", "break clock_nanosleep", "-ex", "run",
                                                "-ex", "bt", "--args", sleeper, dir + "/gdb.txt"])
        let frames = gdb.stdout.split(separator: "\n").filter { $0.hasPrefix("#") }.compactMap { line in
            line.split(separator: " ").first { $0 == "nap" || $0 == "main" || $0.hasSuffix("nanosleep") }.map(String.init)
        }
        XCTAssertEqual(frames.suffix(2), ["nap", "main"], gdb.stdout)
    }

    /// Off-CPU stacks with their wakers (offwaketime's layout): the reader's time blocked in wait_for_ping() goes
    /// on with `--`, the writer's stack through ping() leaf first, and the writer's name on top.
    func testOffCPUStacksWithTheirWakers() throws {
        try requireRoot()
        let pinger = try Tool.compileC(source: Tool.packageRoot.appendingPathComponent("Tests/Programs/pinger.c").path,
                                       name: "pinger", flags: ["-O2", "-g", "-pthread"])
        let dir = try Tool.scratchDirectory()
        let file = dir + "/lat.data"
        let r = try Tool.ember(["latency", "--offcpu", "--wakers", "--call-graph", "dwarf", "-o", file, "--", pinger, "100"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let folded = parseFolded(try Tool.ember(["collapse", "-i", file, "--offcpu", "--wakers"]).stdout)
        let blocked = folded.filter { $0.key.hasPrefix("pinger;") && $0.key.contains(";wait_for_ping;") }
        let woken = blocked.filter { stack, _ in
            let halves = stack.components(separatedBy: ";--;")
            return halves.count == 2 && halves[1].contains(";ping;") && halves[1].hasSuffix(";waker")
        }
        let all = blocked.values.reduce(0, +), byWaker = woken.values.reduce(0, +)
        XCTAssertGreaterThan(all, 100 * 1_000_000, "100 waits of about 2 ms: \(blocked)")
        // This kernel leaves out a few sched_wakeup events (4 of 100 in one run, as it leaves out some switch-ins):
        // those waits fold without a waker. A wakeup queued to the reader's CPU runs there, in the idle task.
        XCTAssertGreaterThan(Double(byWaker), Double(all) * 0.75, "most of it woken by ping(): \(blocked)")
        let strangers = blocked.keys.filter { $0.contains(";--;") && !$0.hasSuffix(";waker") && !$0.hasSuffix(";swapper") }
        XCTAssertEqual(strangers, [], "no waker but the writer (or the idle task running its queued wakeup)")
        // The filters (here the command's tree, by default) choose the blocked stacks, not their wakers: the same
        // stacks with every process read, and with --comms.
        let everything = parseFolded(try Tool.ember(["collapse", "-i", file, "--offcpu", "--wakers", "--all-processes"]).stdout)
            .filter { $0.key.hasPrefix("pinger;") && $0.key.contains(";wait_for_ping;") }
        XCTAssertEqual(everything, blocked)
        let named = parseFolded(try Tool.ember(["collapse", "-i", file, "--offcpu", "--wakers", "--comms", "pinger"]).stdout)
            .filter { $0.key.hasPrefix("pinger;") && $0.key.contains(";wait_for_ping;") }
        XCTAssertEqual(named, blocked)
        // Without --wakers the same time folds without the waker's half.
        let plain = parseFolded(try Tool.ember(["collapse", "-i", file, "--offcpu"]).stdout)
            .filter { $0.key.hasPrefix("pinger;") && $0.key.contains(";wait_for_ping;") }
        XCTAssertEqual(plain.values.reduce(0, +), all)
        XCTAssertFalse(plain.keys.contains { $0.contains(";--;") })
        let svg = try Tool.ember(["flamegraph", "-i", file, "--offcpu", "--wakers", "-o", dir + "/wake.svg"])
        XCTAssertEqual(svg.status, 0, svg.stderr)
        XCTAssertTrue(try String(contentsOfFile: dir + "/wake.svg", encoding: .utf8).contains("Off-CPU time with wakers"))
        // Recorded without --wakers, a recording has no wakers to give, and says how to record them.
        let plainFile = dir + "/plain.data"
        XCTAssertEqual(try Tool.ember(["latency", "--offcpu", "-o", plainFile, "--", pinger, "10"]).status, 0)
        let none = try Tool.ember(["collapse", "-i", plainFile, "--offcpu", "--wakers"])
        XCTAssertEqual(none.status, 1)
        XCTAssertTrue(none.stderr.contains("record them with 'ember latency --offcpu --wakers -- CMD'"), none.stderr)
        let misuse = try Tool.ember(["collapse", "-i", file, "--wakers"])
        XCTAssertEqual(misuse.status, 1)
        XCTAssertTrue(misuse.stderr.contains("--wakers goes with --off-cpu-only"), misuse.stderr)
    }

    /// A recording with lost events: what was under way at a loss is dropped and said, never measured across it.
    func testLostEventsDropWhatWasUnderWay() throws {
        try requireRoot()
        try requirePerf()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/lost.data"
        XCTAssertEqual(try Tool.perf(["sched", "record", "-m", "1", "-o", file, "--", "perf", "bench", "sched", "pipe", "-l", "30000"]).status, 0)
        let r = try Tool.ember(["latency", "-i", file, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        try XCTSkipIf((object["lost_events"] as? Int ?? 0) == 0, "perf lost no events this time")
        XCTAssertTrue(r.stderr.contains("events were lost; the waits and calls under way then in"), r.stderr)
    }

    func testLatencyErrors() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let plain = dir + "/plain.data"
        XCTAssertEqual(try Tool.ember(["record", "-q", "-o", plain, "--", "/bin/true"]).status, 0)
        let stripped = try Tool.compileC(source: Tool.packageRoot.appendingPathComponent("Tests/Programs/sleeper.c").path,
                                         name: "sleeper-stripped", flags: ["-O2", "-s"])
        for (arguments, mention) in [
            (["latency", "-i", plain], "holds no events latency measures (sched:sched_switch, raw_syscalls, probe returns); record them with 'ember latency -- CMD'"),
            (["latency", "-i", plain, "--offcpu"], "has no sched:sched_switch events; record them with 'ember latency --offcpu -- CMD'"),
            (["latency", "-i", plain, "--min", "5"], "--min 5 is not a duration"),
            (["latency", "-i", plain, "-a"], "-i reads a recording"),
            (["latency", "--top", "0", "-i", plain], "--top must be at least 1"),
            (["latency", "-i", plain, "--syscalls"], "no raw_syscalls:sys_enter/sys_exit events"),
            (["latency", "--func", "nocolon", "-i", plain], "--func nocolon: give BINARY:SYMBOL"),
            (["collapse", "-i", plain, "--offcpu"], "has no sched:sched_switch events"),
            (["collapse", "-i", plain, "--min", "1ms"], "--min goes with --off-cpu-only"),
            (["latency", "--func", "/no/such/binary:f", "--", "/bin/true"], "no binary or library '/no/such/binary'"),
            (["latency", "--func", "/bin/true:no_such_function_ember", "--", "/bin/true"], "has no function"),
            (["latency", "--func", stripped + ":nap", "--", stripped, "/dev/null"], "it is stripped (no .symtab)"),
            (["latency", "syscalls", "--", "/bin/true"], "'syscalls' is not a command here; choose what to measure with --syscalls"),
            (["latency", "--sycalls", "--", "/bin/true"], "did you mean '--syscalls'"),
        ] {
            let r = try Tool.ember(arguments)
            XCTAssertNotEqual(r.status, 0, "\(arguments)")
            XCTAssertEqual(r.stderr.split(separator: "\n").filter { $0.hasPrefix("ember: error:") }.count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(mention), "\(arguments): \(r.stderr)")
        }
    }
}
