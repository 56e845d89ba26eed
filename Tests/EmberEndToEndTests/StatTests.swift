import Foundation
import XCTest

/// `ember stat` as perf stat prints it, and its flags: -r, -I, -x, -j, --per-thread, -o.
final class StatTests: XCTestCase {
    /// `stat` prints what perf stat prints: its default events in its order, the clock in msec with CPUs utilized,
    /// rates per second, `<not supported>` for hardware this machine lacks (never a cpu-clock row under that
    /// name), and the elapsed, user and system seconds.
    func testStatAsPerfPrintsIt() throws {
        try requireRoot()
        try requirePerf()
        let demo = try Tool.demo()
        let ours = try Tool.ember(["stat", "--", demo, "0.3"])
        XCTAssertEqual(ours.status, 0, ours.stderr)
        let perf = try Tool.perf(["stat", "--", demo, "0.3"]).stderr
        func names(_ text: String) -> [String] {
            text.split(separator: "\n").compactMap { line -> String? in
                let words = line.split(separator: " ")
                guard words.count >= 2, !line.contains("seconds"), !line.contains("Performance counter") else { return nil }
                return String(words[words[1] == "msec" ? 2 : (words[0] == "<not" ? 2 : 1)])
            }
        }
        XCTAssertEqual(names(ours.stderr), names(perf), ours.stderr)
        for text in ["msec task-clock", "CPUs utilized", "/sec", "seconds time elapsed", "seconds user", "seconds sys"] {
            XCTAssertTrue(ours.stderr.contains(text), "\(text): \(ours.stderr)")
        }
        for line in perf.split(separator: "\n") where line.contains("<not supported>") {
            XCTAssertTrue(ours.stderr.contains(line.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "  ", with: "      ").prefix(15)), String(line))
        }
        let cycles = try Tool.ember(["stat", "-e", "cycles", "--", "/bin/true"])
        XCTAssertEqual(cycles.status, 0, cycles.stderr)
        let hasPMU = FileManager.default.fileExists(atPath: "/sys/bus/event_source/devices/cpu")
        if !hasPMU { XCTAssertTrue(cycles.stderr.contains("<not supported>      cycles"), cycles.stderr) }
        XCTAssertFalse(cycles.stderr.contains("cpu-clock"), cycles.stderr)
    }

    /// `-x,` gives perf's CSV columns (value, unit, event, runtime, percent running, metric, metric unit) for the
    /// same events, and `-j` perf's JSON keys; perf's joined spelling `-x,` works.
    func testCSVAndJSONAsPerfWritesThem() throws {
        try requireRoot()
        try requirePerf()
        let perfCSV = rows(try Tool.perf(["stat", "-x,", "--", "/bin/true"]).stderr)
        let ours = try Tool.ember(["stat", "-x,", "--", "/bin/true"])
        XCTAssertEqual(ours.status, 0, ours.stderr)
        let emberCSV = rows(ours.stderr)
        XCTAssertFalse(perfCSV.isEmpty)
        XCTAssertEqual(emberCSV.map { $0.count }, perfCSV.map { $0.count }, ours.stderr)
        XCTAssertEqual(emberCSV.map { Array($0[1...2]) }, perfCSV.map { Array($0[1...2]) }, "units and events")
        // A rate's unit depends on its count (/bin/true has 0 or 1 context switches), so each side's units are
        // checked against its own counts by perf's scaling: the rate per second of task-clock, in K, M or G.
        for (name, csv) in [("perf", perfCSV), ("ember", emberCSV)] {
            let seconds = (csv.first { $0[2] == "task-clock" }.flatMap { Double($0[0]) } ?? 0) / 1000
            for row in csv where row.last!.hasSuffix("/sec") {
                let rate = (Double(row[0]) ?? 0) / seconds
                // task-clock is printed to 10 µs: a rate within 2% of a step could round either way.
                if [1e3, 1e6, 1e9].contains(where: { abs(rate / $0 - 1) < 0.02 }) { continue }
                let unit = rate >= 1e9 ? "G/sec" : rate >= 1e6 ? "M/sec" : rate >= 1e3 ? "K/sec" : "/sec"
                XCTAssertEqual(row.last!, unit, "\(name)'s \(row[2]): \(row)")
            }
        }
        XCTAssertEqual(emberCSV.map { $0.last!.hasSuffix("/sec") }, perfCSV.map { $0.last!.hasSuffix("/sec") }, "rates where perf has rates")

        let perfJSON = try jsonLines(try Tool.perf(["stat", "-j", "--", "/bin/true"]).stderr)
        let emberJSON = try jsonLines(try Tool.ember(["stat", "-j", "--", "/bin/true"]).stderr)
        XCTAssertEqual(emberJSON.map { Set($0.keys) }, perfJSON.map { Set($0.keys) })
        XCTAssertEqual(emberJSON.map { $0["event"] as? String }, perfJSON.map { $0["event"] as? String })
    }

    /// `-r 3` runs the command three times and prints the means with perf's `( +- x.xx% )` spread.
    func testRepeat() throws {
        try requireRoot()
        let r = try Tool.ember(["stat", "-r", "3", "-e", "task-clock", "-e", "page-faults", "--", "/bin/true"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("Performance counter stats for '/bin/true' (3 runs):"), r.stderr)
        XCTAssertNotNil(r.stderr.range(of: #"page-faults .*\( \+- *\d+\.\d\d% \)"#, options: .regularExpression), r.stderr)
        XCTAssertNotNil(r.stderr.range(of: #"\d\.\d{9} \+- \d\.\d{9} seconds time elapsed  \( \+- *\d+\.\d\d% \)"#, options: .regularExpression), r.stderr)
        let csv = rows(try Tool.ember(["stat", "-r3", "-x,", "-e", "page-faults", "--", "/bin/true"]).stderr)
        XCTAssertEqual(csv.count, 1)
        XCTAssertTrue(csv.first?[3].hasSuffix("%") == true, "the spread column of perf's -r CSV: \(csv)")
        XCTAssertEqual(try Tool.ember(["stat", "-r", "0", "--", "/bin/true"]).status, 64)
        XCTAssertEqual(try Tool.ember(["stat", "-r", "2", "-a", "--duration", "0.1"]).status, 1, "-r repeats a command")
    }

    /// `-I 100` prints each 100 ms interval's counts with its time, under perf's heading; in CSV, the time first.
    func testIntervals() throws {
        try requireRoot()
        let r = try Tool.ember(["stat", "-I", "100", "-e", "task-clock", "--", "sleep", "0.35"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.first, "#           time             counts unit events")
        let times = lines.dropFirst().compactMap { $0.split(separator: " ").first.flatMap { Double($0) } }
        XCTAssertEqual(times.map { ($0 * 10).rounded() / 10 }, [0.1, 0.2, 0.3], r.stderr)
        XCTAssertFalse(r.stderr.contains("Performance counter stats"), "the intervals are the report")
        let csv = rows(try Tool.ember(["stat", "-I100", "-x", ";", "-e", "task-clock", "--", "sleep", "0.25"]).stderr, separator: ";")
        XCTAssertEqual(csv.map { String($0[0].prefix(3)) }, ["0.1", "0.2"], "seconds since the start, as perf's")
        XCTAssertEqual(try Tool.ember(["stat", "-I", "5", "--", "/bin/true"]).status, 64, "perf's 10 ms floor")
    }

    /// `--per-thread -p PID`: one line per thread of the process and event.
    func testPerThread() throws {
        try requireRoot()
        let script = "import threading, time\ndef spin():\n    end = time.time() + 3\n    while time.time() < end: pass\nfor _ in range(2): threading.Thread(target=spin).start()\n"
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        python.arguments = ["-c", script]
        try python.run()
        defer { python.terminate(); python.waitUntilExit() }
        Thread.sleep(forTimeInterval: 0.3)
        let pid = python.processIdentifier
        let r = try Tool.ember(["stat", "--per-thread", "-p", String(pid), "-e", "task-clock", "--duration", "0.5"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let threads = r.stderr.split(separator: "\n").filter { $0.contains("task-clock") }
        XCTAssertEqual(threads.count, 3, "main thread and two spinners: \(r.stderr)")
        XCTAssertTrue(threads.allSatisfy { $0.contains("python3-") }, r.stderr)
        XCTAssertEqual(threads.filter { $0.contains("CPUs utilized") }.count, 2, "the spinners ran; the main thread waited")
        let bad = try Tool.ember(["stat", "--per-thread", "--", "/bin/true"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("give them with -p PID"), bad.stderr)
    }

    /// record's targets and scope in stat and latency too: `-t TID`, `-C CPUS` (with -a), `--no-inherit`, `-D MSEC`.
    func testTargetsAndScope() throws {
        try requireRoot()
        let demo = try Tool.demo()
        func msec(_ arguments: [String]) throws -> Double {
            let r = try Tool.ember(["stat", "-x,", "-e", "task-clock"] + arguments)
            XCTAssertEqual(r.status, 0, r.stderr)
            return Double(r.stderr.split(separator: "\n").last { $0.contains("task-clock") }?.split(separator: ",").first ?? "") ?? -1
        }
        let inherited = try msec(["--", "/bin/sh", "-c", "\(demo) 0.3 > /dev/null"])
        let alone = try msec(["--no-inherit", "--", "/bin/sh", "-c", "\(demo) 0.3 > /dev/null"])
        XCTAssertGreaterThan(inherited, 200, "the demo the shell starts is counted")
        XCTAssertLessThan(alone, 50, "only the shell")
        let delayed = try msec(["-D", "200", "--", demo, "0.5"])
        XCTAssertLessThan(delayed, try msec(["--", demo, "0.5"]) - 100, "the first 200 ms not counted")
        let oneCPU = try msec(["-a", "-C", "0", "--duration", "0.3"])
        XCTAssertEqual(oneCPU, 300, accuracy: 40, "one CPU's clock for 0.3 s")

        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["2"]
        try sleeper.run()
        defer { sleeper.terminate(); sleeper.waitUntilExit() }
        let thread = try Tool.ember(["stat", "-t", String(sleeper.processIdentifier), "-e", "context-switches", "--duration", "0.2"])
        XCTAssertEqual(thread.status, 0, thread.stderr)
        XCTAssertTrue(thread.stderr.contains("process id \(sleeper.processIdentifier)"), thread.stderr)
        XCTAssertEqual(try Tool.ember(["stat", "-C", "99", "-a", "--duration", "0.1"]).status, 1)

        let latency = try Tool.ember(["latency", "-C", "0", "-D", "50", "--no-inherit", "-o", try Tool.scratchDirectory() + "/l.data", "--", "/bin/sh", "-c", "sleep 0.2; sleep 0.1"])
        XCTAssertEqual(latency.status, 0, latency.stderr)
        XCTAssertFalse(latency.stdout.contains(" sleep"), "--no-inherit: the shell, not the sleeps it starts: \(latency.stdout)")
    }

    /// `-o FILE` writes the counts there, not to standard error.
    func testOutputFile() throws {
        try requireRoot()
        let file = try Tool.scratchDirectory() + "/stat.txt"
        let r = try Tool.ember(["stat", "-o", file, "-e", "task-clock", "--", "/bin/true"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(r.stderr.contains("task-clock"), r.stderr)
        XCTAssertTrue(try String(contentsOfFile: file, encoding: .utf8).contains("msec task-clock"))
    }

    private func rows(_ text: String, separator: Character = ",") -> [[String]] {
        text.split(separator: "\n").filter { !$0.hasPrefix("#") && $0.contains(separator) }
            .map { $0.split(separator: separator, omittingEmptySubsequences: false).map(String.init) }
    }

    private func jsonLines(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").filter { $0.hasPrefix("{") }.map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }
}
