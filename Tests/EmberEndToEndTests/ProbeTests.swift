import Foundation
import XCTest

/// Tracepoints, uprobes, uretprobes and USDT probes recorded and counted through perf_event_open.
final class ProbeTests: XCTestCase {
    private static let programs = Tool.packageRoot.appendingPathComponent("Tests/Programs").path

    private func program(_ name: String, flags: [String] = ["-O2", "-g", "-fno-omit-frame-pointer"]) throws -> String {
        try Tool.compileC(source: Self.programs + "/\(name).c", name: name, flags: flags)
    }

    /// Script lines of one event, by its name's prefix.
    private func lines(_ script: String, _ prefix: String) -> [Substring] {
        script.split(separator: "\n").filter { $0.contains(" \(prefix)") }
    }

    func testUprobeAndUretprobeCountEveryCallWithReturnValues() throws {
        try requireRoot()
        let probed = try program("probed")
        let dir = try Tool.scratchDirectory()
        for callGraph in [[], ["-g"]] {
            let file = dir + "/u.data"
            let r = try Tool.ember(["record", "-q", "-o", file, "-e", "uprobe:\(probed):probed_add",
                                    "-e", "uretprobe:\(probed):probed_add"] + callGraph + ["--", probed, "1000", "0"])
            XCTAssertEqual(r.status, 0, r.stderr)
            let script = try Tool.ember(["script", "-i", file]).stdout
            let entries = lines(script, "uprobe:")
            let returns = lines(script, "uretprobe:")
            XCTAssertEqual(entries.count, 1000, "every call, \(callGraph)")
            XCTAssertEqual(returns.count, 1000)
            XCTAssertTrue(entries.allSatisfy { $0.contains("probed_add: arg1=") })
            let values = returns.compactMap { $0.split(separator: "ret=").last.flatMap { Int($0) } }
            XCTAssertEqual(values, (0..<1000).map { 3 * $0 + 1000 }, "return values in call order")
            if callGraph.isEmpty == false {
                XCTAssertTrue(script.contains("probed_add+0x0 (\(probed))") && script.contains("main+0x"), "call chains on probes")
            }
        }
    }

    func testUSDTSemaphoreAndArguments() throws {
        try requireRoot()
        let usdt = try program("usdt", flags: ["-O2", "-g"])
        let dir = try Tool.scratchDirectory()
        let file = dir + "/s.data"
        let traced = try Tool.ember(["record", "-q", "-o", file, "-e", "usdt:\(usdt):ember:tick", "--", usdt, "500", "0"])
        XCTAssertEqual(traced.status, 0, traced.stderr)
        XCTAssertTrue(traced.stdout.contains("semaphore-seen 500"), "the semaphore is set while traced: \(traced.stdout)")
        let hits = lines(try Tool.ember(["script", "-i", file]).stdout, "usdt:")
        XCTAssertEqual(hits.count, 500)
        XCTAssertTrue(hits.count > 7 && hits[7].hasSuffix("arg1=7 arg2=21"), hits.count > 7 ? String(hits[7]) : "too few hits")
        let untraced = try Tool.run(usdt, ["50", "0"])
        XCTAssertTrue(untraced.stdout.contains("semaphore-seen 0"), "and clear when not: \(untraced.stdout)")
        // Listing shows the probe.
        XCTAssertTrue(try Tool.ember(["list", "--probes", usdt]).stdout.contains("usdt:\(usdt):ember:tick"))
    }

    /// One probe at two sites (as the compiler makes when it inlines or unrolls one), its arguments in different
    /// registers at each: each site's samples are read with its own note's spec, from the recording and from an
    /// archive of it (the second site's were read through the first's registers).
    func testUSDTProbeWithTwoSites() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let header = Tool.packageRoot.appendingPathComponent("Sources/ember-heap/ember_sdt.h").path
        try """
            #include "\(header)"
            __attribute__((section(".probes"), used)) volatile unsigned short ember_pair_semaphore;
            int main(void) {
                for (long i = 0; i < 100; i++) {
                    __asm__ __volatile__(EMBER_SDT_NOTE("ember_pair_semaphore", "ember", "pair", "8@%0 8@%1") : : "D"(i), "S"(2 * i));
                    __asm__ __volatile__(EMBER_SDT_NOTE("ember_pair_semaphore", "ember", "pair", "8@%0 8@%1") : : "c"(1000 + i), "d"(3 * i));
                }
                return 0;
            }
            """.write(toFile: dir + "/pair.c", atomically: true, encoding: .utf8)
        let program = try Tool.compileC(source: dir + "/pair.c", name: "pair", flags: ["-O1", "-g"])
        let file = dir + "/pair.data"
        XCTAssertEqual(try Tool.ember(["record", "-q", "-o", file, "-e", "usdt:\(program):ember:pair", "--", program]).status, 0)
        XCTAssertEqual(try Tool.ember(["archive", "-i", file, "-o", file + ".ember"]).status, 0)
        for input in [file, file + ".ember"] {
            var pairs: [(Int, Int)] = []
            for line in lines(try Tool.ember(["script", "-i", input]).stdout, "usdt:") {
                let values = line.split(separator: " ").filter { $0.hasPrefix("arg") }.compactMap { Int($0.split(separator: "=").last ?? "") }
                if values.count == 2 { pairs.append((values[0], values[1])) }
            }
            XCTAssertEqual(pairs.count, 200, input)
            XCTAssertEqual(pairs.filter { $0.0 < 1000 && $0.1 == 2 * $0.0 }.count, 100, "the first site's (i, 2i): \(input)")
            XCTAssertEqual(pairs.filter { $0.0 >= 1000 && $0.1 == 3 * ($0.0 - 1000) }.count, 100, "the second site's (1000+i, 3i): \(input)")
            // The two sites are one event to the readers that fold: 200 samples, not the first site's 100.
            let folded = try Tool.ember(["collapse", "-i", input, "--event", "usdt:\(program):ember:pair"]).stdout
            let counts = folded.split(separator: "\n").compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }
            XCTAssertEqual(counts.reduce(0, +), 200, "both sites folded: \(input): \(folded)")
        }
    }

    func testSchedSwitchFieldsFilterAndPerfDecoding() throws {
        try requireRoot()
        try requirePerf()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/t.data"
        let r = try Tool.ember(["record", "-q", "-o", file, "-e", "sched:sched_switch", "--", "/bin/sleep", "0.2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let script = try Tool.ember(["script", "-i", file]).stdout
        let switches = lines(script, "sched:sched_switch:")
        XCTAssertGreaterThan(switches.count, 0)
        XCTAssertTrue(switches.contains { $0.contains("prev_comm=sleep") && $0.contains("prev_pid=") && $0.contains("next_comm=") })
        let perf = try Tool.perf(["script", "-i", file])
        XCTAssertEqual(perf.status, 0, perf.stderr)
        XCTAssertTrue(perf.stdout.contains("prev_comm=sleep"), "perf decodes Ember's tracepoint file")

        // A shell that sleeps five times: its switches and its children's.
        let loop = ["/bin/sh", "-c", "for i in 1 2 3 4 5; do /bin/sleep 0.02; done"]
        let all = dir + "/a.data", filtered = dir + "/f.data"
        XCTAssertEqual(try Tool.ember(["record", "-q", "-o", all, "-e", "sched:sched_switch", "--"] + loop).status, 0)
        XCTAssertEqual(try Tool.ember(["record", "-q", "-o", filtered, "-e", "sched:sched_switch", "--filter", "prev_comm == \"sleep\"", "--"] + loop).status, 0)
        let every = lines(try Tool.ember(["script", "-i", all]).stdout, "sched:sched_switch:")
        let kept = lines(try Tool.ember(["script", "-i", filtered]).stdout, "sched:sched_switch:")
        XCTAssertGreaterThanOrEqual(kept.count, 5)
        XCTAssertLessThan(kept.count, every.count, "the filter cuts the count")
        XCTAssertTrue(kept.allSatisfy { $0.contains("prev_comm=sleep ") })
    }

    func testStatCountsExactly() throws {
        try requireRoot()
        let probed = try program("probed")
        let r = try Tool.ember(["stat", "-e", "uprobe:\(probed):probed_add", "--", probed, "4321", "0"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertNotNil(r.stderr.range(of: #"\s4321\s+uprobe:"#, options: .regularExpression), r.stderr)
    }

    /// A probed command that forks: every child is probed and no fork fails. (An inherited uprobe PMU event makes
    /// the kernel read its path from the forking task's memory, and fail the fork; the probes go through tracefs
    /// instead.) The probes are removed at the end, from `record` and from `stat`.
    func testProbedCommandsCanFork() throws {
        try requireRoot()
        let probed = try program("probed")
        let script = "\(probed) 300 0; \(probed) 200 0 & wait; echo forked"
        let file = try Tool.scratchDirectory() + "/f.data"
        let r = try Tool.ember(["record", "-q", "-o", file, "-e", "uprobe:\(probed):probed_add", "--", "/bin/sh", "-c", script])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("forked") && !r.stderr.contains("Cannot fork"), r.stdout + r.stderr)
        XCTAssertEqual(lines(try Tool.ember(["script", "-i", file]).stdout, "uprobe:").count, 500)
        XCTAssertEqual(lines(try Tool.perf(["script", "-i", file]).stdout, "uprobe:").count, 500, "perf reads the tracefs probe's samples")
        let counted = try Tool.ember(["stat", "-e", "uprobe:\(probed):probed_add", "--", "/bin/sh", "-c", script])
        XCTAssertEqual(counted.status, 0, counted.stderr)
        XCTAssertNotNil(counted.stderr.range(of: #"\s500\s+uprobe:"#, options: .regularExpression), counted.stderr)
        let left = (try? String(contentsOfFile: "/sys/kernel/tracing/uprobe_events", encoding: .utf8)) ?? ""
        XCTAssertFalse(left.contains("ember_"), "probes removed: \(left)")
    }

    func testProbeErrors() throws {
        try requireRoot()
        let probed = try program("probed")
        func fails(_ args: [String], _ mention: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let r = try Tool.ember(args)
            XCTAssertNotEqual(r.status, 0, file: file, line: line)
            XCTAssertEqual(r.stderr.split(separator: "\n").filter { $0.hasPrefix("ember: error:") }.count, 1, r.stderr, file: file, line: line)
            XCTAssertTrue(r.stderr.contains(mention), "\(mention) not in \(r.stderr)", file: file, line: line)
        }
        try fails(["record", "-e", "sched:sched_swich", "--", "/bin/true"], "did you mean sched:sched_switch")
        try fails(["record", "-e", "sched:sched_switch", "--filter", "no_such_field == 3", "--", "/bin/true"], "rejected the filter")
        try fails(["record", "-e", "uprobe:/no/such/binary:f", "--", "/bin/true"], "no binary or library '/no/such/binary'")
        try fails(["record", "-e", "uprobe:\(probed):no_such_function", "--", "/bin/true"], "has no function 'no_such_function'")
        try fails(["record", "-e", "uprobe:\(probed):0x7fffffff", "--", "/bin/true"], "past the end of")
        try fails(["record", "-e", "usdt:\(probed):ember:tick", "--", "/bin/true"], "has no USDT probe ember:tick")
        // This machine kind has no kprobe PMU (CONFIG_KPROBES is off); elsewhere these would record.
        if !FileManager.default.fileExists(atPath: "/sys/bus/event_source/devices/kprobe") {
            try fails(["record", "-e", "kprobe:do_sys_openat2", "--", "/bin/true"], "CONFIG_KPROBES")
            try fails(["record", "-e", "kretprobe:do_sys_openat2", "--", "/bin/true"], "no kprobe PMU")
        }
    }

    /// Every name of an address resolves: aliases (free/cfree, open/open64, nanosleep/__nanosleep), weak names
    /// under a global one (calloc), and a versioned name by its base (memcpy@@GLIBC_2.14).
    func testLibcAliasesAndVersionedNamesResolve() throws {
        try requireRoot()
        for name in ["free", "cfree", "calloc", "open", "open64", "nanosleep", "__nanosleep", "memcpy", "malloc"] {
            let r = try Tool.ember(["stat", "-e", "uprobe:libc:\(name)", "--", "/bin/true"])
            XCTAssertEqual(r.status, 0, "\(name): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("libc.so.6:\(name)"), "\(name): \(r.stderr)")
        }
    }

    /// An overloaded C++ name is ambiguous: the candidates are listed.
    func testAmbiguousSymbolListsCandidates() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let source = dir + "/over.cpp"
        try "__attribute__((noinline)) int f(int x) { return x + 1; }\n__attribute__((noinline)) double f(double x) { return x * 2; }\nint main() { return f(1) + (int)f(2.0); }\n"
            .write(toFile: source, atomically: true, encoding: .utf8)
        let binary = dir + "/over"
        XCTAssertEqual(try Tool.run("/usr/bin/g++", ["-O1", "-o", binary, source]).status, 0)
        let r = try Tool.ember(["record", "-e", "uprobe:\(binary):f", "--", binary])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("ambiguous") && r.stderr.contains("f(int)") && r.stderr.contains("f(double)"), r.stderr)
        // Named exactly, it resolves: f(int) runs once; the program exits with f(1) + f(2.0) = 6.
        let one = try Tool.ember(["stat", "-e", "uprobe:\(binary):f(int)", "--", binary])
        XCTAssertEqual(one.status, 6, one.stderr)
        XCTAssertNotNil(one.stderr.range(of: #"\s1\s+uprobe:"#, options: .regularExpression), one.stderr)
    }

    /// Without CAP_SYS_ADMIN, uprobes are refused with the reason.
    func testUprobeNeedsPrivileges() throws {
        try requireRoot()
        let probed = try program("probed")
        let dir = try Tool.scratchDirectory()
        let r = try Tool.ember(["record", "-e", "uprobe:\(probed):probed_add", "-o", dir + "/x.data", "--", probed, "10", "0"],
                               user: "65534", cwd: dir)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("ember: error:") && (r.stderr.contains("permission") || r.stderr.contains("Permission")), r.stderr)
    }

    /// A USDT semaphore that disagrees with an existing probe on the same address is rejected with the reason,
    /// and Ember leaves nothing behind in tracefs.
    func testSemaphoreMismatchIsExplained() throws {
        try requireRoot()
        let usdt = try program("usdt", flags: ["-O2", "-g"])
        let notes = try Tool.run("/usr/bin/readelf", ["-n", usdt]).stdout
        let location = try XCTUnwrap(notes.split(separator: "\n").first { $0.contains("Location:") }?
            .split(separator: ",").first?.split(separator: " ").last)
        let events = "/sys/kernel/tracing/uprobe_events"
        let before = (try? String(contentsOfFile: events, encoding: .utf8)) ?? ""
        // A plain tracefs probe (no semaphore) at the USDT site: Ember's, with the semaphore, cannot coexist.
        let enable = "/sys/kernel/tracing/events/ember_test/mismatch/enable"
        let add = try Tool.run("/bin/sh", ["-c", "echo 'p:ember_test/mismatch \(usdt):\(location)' >> \(events) && echo 1 > \(enable)"])
        XCTAssertEqual(add.status, 0, add.stderr)
        defer { _ = try? Tool.run("/bin/sh", ["-c", "echo 0 > \(enable); echo '-:ember_test/mismatch' >> \(events)"]) }
        let dir = try Tool.scratchDirectory()
        let r = try Tool.ember(["record", "-e", "usdt:\(usdt):ember:tick", "-o", dir + "/m.data", "--", usdt, "10", "0"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("Reference counter offset mismatch"), r.stderr)
        let left = try String(contentsOfFile: events, encoding: .utf8)
        XCTAssertEqual(left.split(separator: "\n").count, before.split(separator: "\n").count + 1, "Ember leaves no tracefs probes: \(left)")
    }

    /// A library named as the dynamic linker would find it.
    func testLibraryNamesResolve() throws {
        try requireRoot()
        let r = try Tool.ember(["stat", "-e", "uprobe:libc:malloc", "--", "/bin/ls", "/"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let count = r.stderr.split(separator: "\n").first { $0.contains("uprobe:") }?.split(separator: " ").first.flatMap { Int($0) }
        XCTAssertGreaterThan(count ?? 0, 0, r.stderr)
    }
}
