import Foundation
import XCTest

/// The flags a perf user types, compared with perf where perf has them.
final class PerfFlagsTests: XCTestCase {
    func testVersion() throws {
        let r = try Tool.ember(["--version"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("ember "), r.stdout)
    }

    /// `cpu-clock:u` keeps to user space (perf reads the attr and the name back); `:ppp` is accepted on a software
    /// event; an unknown modifier is refused.
    func testEventModifiers() throws {
        try requireRoot()
        try requirePerf()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/u.data"
        let rec = try Tool.ember(["record", "-q", "-g", "-e", "cpu-clock:u", "-o", file, "--", try Tool.demo(), "0.3"])
        XCTAssertEqual(rec.status, 0, rec.stderr)
        let attrs = try Tool.perf(["evlist", "-v", "-i", file]).stdout
        XCTAssertTrue(attrs.hasPrefix("cpu-clock:u:"), attrs)
        XCTAssertTrue(attrs.contains("exclude_kernel: 1") && attrs.contains("exclude_hv: 1"), attrs)
        XCTAssertFalse(try Tool.ember(["script", "-i", file]).stdout.contains("[kernel.kallsyms]"), "no kernel frames")
        XCTAssertEqual(try Tool.ember(["record", "-q", "-e", "cpu-clock:ppp", "-o", dir + "/p.data", "--", "/bin/true"]).status, 0)
        let bad = try Tool.ember(["record", "-q", "-e", "cpu-clock:z", "-o", dir + "/z.data", "--", "/bin/true"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("modifiers are u (user), k (kernel)"), bad.stderr)
    }

    /// perf's event lists and groups: `-e a,b` and `-e '{a,b}:u'` (each member with the group's modifiers).
    func testEventListsAndGroups() throws {
        try requireRoot()
        try requirePerf()
        let file = try Tool.scratchDirectory() + "/g.data"
        let rec = try Tool.ember(["record", "-q", "-e", "{cpu-clock,page-faults}:u", "-e", "cs,migrations", "-o", file, "--", try Tool.demo(), "0.1"])
        XCTAssertEqual(rec.status, 0, rec.stderr)
        XCTAssertTrue(rec.stderr.contains("opened each on its own"), rec.stderr)
        let names = try Tool.perf(["evlist", "-i", file]).stdout.split(separator: "\n")
        XCTAssertEqual(names, ["cpu-clock:u", "page-faults:u", "context-switches", "cpu-migrations"])
        let stat = try Tool.ember(["stat", "-x,", "-e", "task-clock,page-faults", "--", "/bin/true"])
        XCTAssertEqual(stat.stderr.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false)[2] }, ["task-clock", "page-faults"], stat.stderr)
        for bad in ["{cpu-clock", "cpu-clock,,cs", "{}"] {
            let r = try Tool.ember(["stat", "-e", bad, "--", "/bin/true"])
            XCTAssertEqual(r.status, 1, bad)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }
    }

    /// `-F max` samples at the kernel's current limit, as perf's does.
    func testFrequencyMax() throws {
        try requireRoot()
        try requirePerf()
        let file = try Tool.scratchDirectory() + "/max.data"
        XCTAssertEqual(try Tool.ember(["record", "-q", "-F", "max", "-o", file, "--", "/bin/true"]).status, 0)
        let limit = try String(contentsOfFile: "/proc/sys/kernel/perf_event_max_sample_rate", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(try Tool.perf(["evlist", "-v", "-i", file]).stdout.contains("sample_freq }: \(limit),"))
    }

    /// `report -g` in perf's syntax (graph,MIN,ORDER): branches under MIN percent left out (0.5 by default), each
    /// branch one perf prints too; no Children column for a recording without call chains, as perf.
    func testReportCallGraphAsPerfParsesIt() throws {
        try requireRoot()
        try requirePerf()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/g.data"
        XCTAssertEqual(try Tool.perf(["record", "-g", "-F", Tool.rate(1999), "-o", file, "--", try Tool.demo(), "0.5"]).status, 0)
        func branches(_ text: String) -> Set<String> {
            let regex = try! NSRegularExpression(pattern: #"--(\d+\.\d\d)%--(\S+)"#)
            return Set(regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { String(text[Range($0.range, in: text)!]) })
        }
        func percents(_ set: Set<String>) -> [Double] { set.compactMap { Double($0.dropFirst(2).prefix { $0 != "%" }) } }
        for (graph, floor) in [("graph,0.5,caller", 0.5), ("graph,2,caller", 2.0), ("caller", 0.5)] {
            let perf = branches(try Tool.perf(["report", "-i", file, "--stdio", "-g", graph == "caller" ? "graph,0.5,caller" : graph]).stdout)
            let ours = try Tool.ember(["report", "-i", file, "--perf-compat", "-g", graph])
            XCTAssertEqual(ours.status, 0, ours.stderr)
            let ember = branches(ours.stdout)
            XCTAssertFalse(ember.isEmpty, graph)
            XCTAssertTrue(ember.isSubset(of: perf), "\(graph): \(ember.subtracting(perf))")
            XCTAssertGreaterThanOrEqual(percents(ember).min() ?? 100, floor, graph)
        }
        XCTAssertEqual(try Tool.ember(["report", "-i", file, "-g", "graph,zz"]).status, 1)

        let flat = dir + "/flat.data"
        XCTAssertEqual(try Tool.perf(["record", "-o", flat, "--", try Tool.demo(), "0.2"]).status, 0)
        let header = try Tool.ember(["report", "-i", flat]).stdout.split(separator: "\n").first { $0.hasPrefix("# Overhead") || $0.hasPrefix("# Children") }
        XCTAssertEqual(header.map { String($0.prefix(10)) }, "# Overhead")
    }

    /// `report --stdio` with perf's sort keys (`cpu`, `sym`, `pid`) and `-n` (sample counts) gives perf report's rows
    /// on perf's recording.
    func testReportSortKeysAsPerfNamesThem() throws {
        try requireRoot()
        try requirePerf()
        let file = try Tool.scratchDirectory() + "/perf.data"
        XCTAssertEqual(try Tool.perf(["record", "-F", Tool.rate(1999), "-o", file, "--", try Tool.demo(), "0.5"]).status, 0)
        for (sort, extra) in [("cpu,sym", [String]()), ("pid,dso,sym", []), ("comm,dso,sym", ["-n"])] {
            let perf = reportRows(try Tool.perf(["report", "-i", file, "--stdio", "--no-children", "--sort", sort] + extra).stdout)
            let ember = reportRows(try Tool.ember(["report", "-i", file, "--stdio", "--no-children", "--sort", sort, "--perf-compat"] + extra).stdout)
            XCTAssertFalse(perf.isEmpty)
            XCTAssertEqual(ember, perf, "\(sort) \(extra)")
        }
        // -S: only these symbols' rows, with their percentages of every sample.
        let only = ["-S", "spin_primes,hash_strings"]
        let perfOnly = reportRows(try Tool.perf(["report", "-i", file, "--stdio", "--no-children"] + only).stdout)
        let emberOnly = reportRows(try Tool.ember(["report", "-i", file, "--stdio", "--no-children", "--perf-compat"] + only).stdout)
        XCTAssertEqual(perfOnly.count, 2, "\(perfOnly)")
        XCTAssertEqual(emberOnly, perfOnly)
        let typo = try Tool.ember(["report", "--stdoi", "-i", file])
        XCTAssertTrue(typo.stderr.contains("did you mean '--stdio'"), typo.stderr)
    }

    /// A time slice is reported as perf reports it, its own samples and shares (not the whole file's), with the
    /// slice in the header; `--no-children -g caller|callee` prints each entry's stacks, root to symbol or back, and
    /// every graph is drawn as perf report draws it on the same file.
    func testReportTimeSlicesAndSelfCallChainsAsPerf() throws {
        try requireRoot()
        try requirePerf()
        let file = try Tool.scratchDirectory() + "/perf.data"
        XCTAssertEqual(try Tool.perf(["record", "-g", "-F", Tool.rate(999), "-o", file, "--", try Tool.demo(), "1"]).status, 0)
        let slice = ["--time", "10%/3", "--no-children", "--sort", "comm,dso,sym", "-g", "none"]
        let perf = try Tool.perf(["report", "-i", file, "--stdio"] + slice).stdout
        let ember = try Tool.ember(["report", "-i", file, "--perf-compat"] + slice).stdout
        XCTAssertFalse(reportRows(perf).isEmpty)
        XCTAssertEqual(reportRows(ember), reportRows(perf))
        func samples(_ text: String) -> String? {
            text.split(separator: "\n").first { $0.hasPrefix("# Samples: ") }.map { $0.split(separator: " ", omittingEmptySubsequences: true)[2] }.map(String.init)
        }
        XCTAssertEqual(samples(ember), samples(perf))
        XCTAssertTrue(ember.contains("(time slices: 10%/3)"), ember)
        // The graph under an entry, as drawn (perf pads its bars with spaces to the line's end).
        func graph(_ text: String, of symbol: String) -> [String] {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0.reversed().drop { $0 == " " }.reversed()) }
            guard let row = lines.firstIndex(where: { $0.hasSuffix("[.] " + symbol) }) else { return [] }
            return Array(lines[(row + 1)...].prefix { !$0.isEmpty })
        }
        for (mode, symbol) in [(["--no-children", "-g", "caller"], "spin_primes"), (["--no-children", "-g", "callee"], "spin_primes"),
                               (["-g", "caller"], "main"), (["-g", "callee"], "spin_primes")] {
            let perfGraph = graph(try Tool.perf(["report", "-i", file, "--stdio"] + mode).stdout, of: symbol)
            let emberGraph = graph(try Tool.ember(["report", "-i", file, "--perf-compat"] + mode).stdout, of: symbol)
            XCTAssertGreaterThan(perfGraph.count, 2, "\(mode) \(symbol)")
            XCTAssertEqual(emberGraph, perfGraph, "\(mode) \(symbol)")
        }
    }

    /// `--no-inherit` leaves out what the command starts (here the demo a shell runs), as perf's does.
    func testNoInherit() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let shell = ["/bin/sh", "-c", "\(try Tool.demo()) 0.3; true"]
        for (flags, file) in [([String](), "inherit.data"), (["--no-inherit"], "no-inherit.data")] {
            XCTAssertEqual(try Tool.ember(["record", "-q", "-o", dir + "/" + file] + flags + ["--"] + shell).status, 0)
        }
        let followed = try Tool.ember(["collapse", "--count", "-i", dir + "/inherit.data"]).stdout
        let alone = try Tool.ember(["collapse", "--count", "-i", dir + "/no-inherit.data"]).stdout
        XCTAssertGreaterThan(parseFolded(followed).filter { $0.key.hasPrefix("demo;") }.values.reduce(0, +), 100)
        XCTAssertEqual(parseFolded(alone).filter { $0.key.hasPrefix("demo;") }.count, 0, alone)
    }

    /// Reader filters on a system-wide perf recording: `--comms`, `--cpu`, `--pids`, `--tids`, `--dsos` and
    /// `--symbols` keep the stacks perf script keeps with `--comms`, `--cpu`, `--pid`, `--tid`, `--dsos` and
    /// `--symbols`.
    func testReaderFiltersKeepWhatPerfKeeps() throws {
        try requireRoot()
        try requirePerf()
        let file = try Tool.scratchDirectory() + "/all.data"
        let rec = try Tool.perf(["record", "-a", "-g", "-F", Tool.rate(999), "-o", file, "--", try Tool.demo(), "0.5"])
        XCTAssertEqual(rec.status, 0, rec.stderr)
        let demo = try Tool.ember(["script", "-i", file, "--comms", "demo"]).stdout
        let pid = try XCTUnwrap(demo.split(separator: "\n").first?.split(separator: " ").dropFirst().first?.split(separator: "/").first)
        for (perf, ember) in [(["--comms", "demo"], ["--comms", "demo"]), (["--cpu", "0"], ["--cpu", "0"]),
                              (["--pid", String(pid)], ["--pids", String(pid)]), (["--tid", String(pid)], ["--tids", String(pid)]),
                              (["--dsos", "libc.so.6"], ["--dsos", "libc.so.6"]), (["--symbols", "spin_primes"], ["-S", "spin_primes"])] {
            let expected = PerfScriptFolder.fold(try Tool.perf(["script", "-i", file] + perf).stdout)
            let actual = parseFolded(try Tool.ember(["collapse", "--perf-compat", "-i", file] + ember).stdout)
            XCTAssertFalse(expected.isEmpty, "\(perf)")
            assertFoldedAgree(expected, actual, share: 0.99)
        }
        let bad = try Tool.ember(["collapse", "-i", file, "--cpu", "3-1"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("--cpu takes a CPU list such as 0-3,6"), bad.stderr)
        // One meaning per name: --comm is --comms in every reader (report's, as perf's, too), and report's --pid
        // is --pids; collapse's --pid splits the root as stackcollapse-perf.pl's does, and its help says so.
        let comms = try Tool.ember(["collapse", "-i", file, "--comms", "demo"]).stdout
        XCTAssertEqual(try Tool.ember(["collapse", "-i", file, "--comm", "demo"]).stdout, comms)
        XCTAssertEqual(try Tool.ember(["report", "-i", file, "--comm", "demo"]).stdout, try Tool.ember(["report", "-i", file, "--comms", "demo"]).stdout)
        XCTAssertEqual(try Tool.ember(["report", "-i", file, "--pid", String(pid)]).stdout,
                       try Tool.ember(["report", "-i", file, "--pids", String(pid)]).stdout)
        let help = try Tool.ember(["collapse", "--help"]).stdout.replacingOccurrences(of: "\n", with: " ")
            .split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        XCTAssertTrue(help.contains("as stackcollapse-perf.pl's --pid (to keep only some processes: --pids)"), help)
    }

    /// `--max-stack N` keeps each stack's N innermost frames, as perf script's does.
    func testMaxStack() throws {
        try requireRoot()
        try requirePerf()
        let file = try Tool.scratchDirectory() + "/g.data"
        XCTAssertEqual(try Tool.perf(["record", "-g", "-F", Tool.rate(1999), "-o", file, "--", try Tool.demo(), "0.5"]).status, 0)
        let expected = PerfScriptFolder.fold(try Tool.perf(["script", "-i", file, "--max-stack", "3"]).stdout)
        let actual = parseFolded(try Tool.ember(["collapse", "--perf-compat", "--max-stack", "3", "-i", file]).stdout)
        assertFoldedAgree(expected, actual, share: 0.999)
        XCTAssertTrue(actual.keys.allSatisfy { $0.split(separator: ";").count <= 4 }, "the command and at most 3 frames")
        XCTAssertEqual(try Tool.ember(["collapse", "--max-stack", "0", "-i", file]).status, 1)
    }

    /// `-C 1` samples only CPU 1: the demo pinned there is recorded, the one pinned to CPU 0 is not.
    func testCPUList() throws {
        try requireRoot()
        try requirePerf()
        let cpus = try String(contentsOfFile: "/sys/devices/system/cpu/online", encoding: .utf8)
        try XCTSkipIf(cpus.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "one CPU only")
        let file = try Tool.scratchDirectory() + "/c.data"
        let demo = try Tool.demo()
        let r = try Tool.ember(["record", "-q", "-a", "-C", "1", "-o", file, "--", "/bin/sh", "-c",
                                "taskset -c 1 \(demo) 0.3; taskset -c 0 \(demo) 0.3"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let seen = try Tool.perf(["script", "-i", file, "-F", "cpu,comm"]).stdout.split(separator: "\n")
        XCTAssertGreaterThan(seen.filter { $0.contains("demo") }.count, 100)
        XCTAssertTrue(seen.allSatisfy { $0.contains("[001]") }, "only CPU 1: \(Set(seen.map { $0.split(separator: " ").last ?? "" }))")
        let bad = try Tool.ember(["record", "-q", "-C", "99", "-o", file, "--", "/bin/true"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("CPU 99 is not online"), bad.stderr)
    }

    /// `-t TID`: one thread of a running process, not its others; perf reads the file with that tid only.
    func testThreads() throws {
        try requireRoot()
        let hogs = try Tool.compileC(source: Tool.packageRoot.appendingPathComponent("Tests/Programs/hogs.c").path, name: "hogs",
                                     flags: ["-O2", "-pthread"])
        let dir = try Tool.scratchDirectory()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: hogs)
        p.arguments = ["3", "3000", dir + "/hogs.out"]
        try p.run()
        defer { p.terminate() }
        Thread.sleep(forTimeInterval: 0.3)
        let tids = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(p.processIdentifier)/task").compactMap { Int32($0) }
            .filter { $0 != p.processIdentifier }.sorted()
        let tid = try XCTUnwrap(tids.first, "hogs started no threads")
        let file = dir + "/t.data"
        let r = try Tool.ember(["record", "-q", "-t", String(tid), "--duration", "1", "-o", file])
        XCTAssertEqual(r.status, 0, r.stderr)
        let seen = Set(try Tool.ember(["script", "-i", file]).stdout.split(separator: "\n").filter { $0.contains("cpu-clock") }
            .compactMap { $0.split(separator: " ").dropFirst().first?.split(separator: "/").last })
        XCTAssertEqual(seen, [Substring(String(tid))], "only thread \(tid) of \(tids)")
        let none = try Tool.ember(["record", "-t", "999999", "--duration", "1", "-o", file])
        XCTAssertEqual(none.status, 1)
        XCTAssertTrue(none.stderr.contains("no such thread"), none.stderr)
    }

    /// `-D MSEC`: nothing is recorded before the delay (phase A's 0.4 s), and phase B after it is.
    func testDelay() throws {
        try requireRoot()
        let phases = try Tool.compileC(source: Tool.packageRoot.appendingPathComponent("Tests/Programs/phases.c").path, name: "phases",
                                       flags: ["-O1", "-g", "-fno-omit-frame-pointer"])
        let file = try Tool.scratchDirectory() + "/d.data"
        let r = try Tool.ember(["record", "-q", "-g", "-D", "600", "-o", file, "--", phases, "0.4", "0.6"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let folded = parseFolded(try Tool.ember(["collapse", "--count", "-i", file]).stdout)
        XCTAssertEqual(folded.filter { $0.key.contains("phase_a") }.values.reduce(0, +), 0, "\(folded)")
        XCTAssertGreaterThan(folded.filter { $0.key.contains("phase_b") }.values.reduce(0, +), 200, "\(folded)")
    }

    /// `report --header-only` says what perf's does of the same file (host, kernel, arch, CPUs, command line,
    /// events); `--header` puts it before the report; Ember's recordings carry `ember --version` as their version.
    func testReportHeader() throws {
        try requireRoot()
        try requirePerf()
        let dir = try Tool.scratchDirectory()
        for (recorder, file) in [("perf", dir + "/p.data"), ("ember", dir + "/e.data")] {
            let argv = ["record", "-q", "-o", file, "--", try Tool.demo(), "0.2"]
            XCTAssertEqual((recorder == "perf" ? try Tool.perf(argv) : try Tool.ember(argv)).status, 0)
            let ours = try Tool.ember(["report", "--header-only", "-i", file])
            XCTAssertEqual(ours.status, 0, ours.stderr)
            let perfs = try Tool.perf(["report", "--header-only", "-i", file]).stdout
            for key in ["hostname", "os release", "arch", "nrcpus online", "nrcpus avail", "total memory", "perf version"] {
                let line = perfs.split(separator: "\n").first { $0.hasPrefix("# \(key) :") }
                XCTAssertNotNil(line, "perf prints \(key)")
                if let line { XCTAssertTrue(ours.stdout.contains(line + "\n"), "\(recorder): \(line)\n\(ours.stdout)") }
            }
            XCTAssertTrue(ours.stdout.contains("# cmdline : ") && ours.stdout.contains("# event : name = cpu-clock"), ours.stdout)
            XCTAssertFalse(ours.stdout.contains("Children"), "no report with --header-only")
            let both = try Tool.ember(["report", "--header", "-i", file]).stdout
            XCTAssertTrue(both.hasPrefix("# ========") && both.contains("# Overhead"), both)
            let script = try Tool.ember(["script", "--header", "-i", file]).stdout
            XCTAssertTrue(script.hasPrefix(ours.stdout) && script.contains(" cpu-clock"), "script --header")
            XCTAssertEqual(try Tool.ember(["script", "--header-only", "-i", file]).stdout, ours.stdout)
        }
        let version = try Tool.ember(["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(try Tool.ember(["report", "--header-only", "-i", dir + "/e.data"]).stdout.contains("# perf version : \(version)\n"))
    }

    /// `--time START,STOP` keeps the samples perf script keeps with the same span, on every reader.
    func testTimeSpan() throws {
        try requireRoot()
        try requirePerf()
        let file = try Tool.scratchDirectory() + "/t.data"
        XCTAssertEqual(try Tool.ember(["record", "-q", "-o", file, "--", try Tool.demo(), "0.5"]).status, 0)
        let times = try Tool.perf(["script", "-F", "time", "-i", file]).stdout.split(separator: "\n")
            .compactMap { Double($0.trimmingCharacters(in: .whitespaces).dropLast()) }
        XCTAssertGreaterThan(times.count, 300)
        let from = times[times.count / 4], until = times[times.count / 2]
        let span = String(format: "%.6f,%.6f", from, until)
        let perf = try Tool.perf(["script", "-F", "time", "--time", span, "-i", file]).stdout.split(separator: "\n").count
        // The printed times are cut to microseconds, so the last sample may fall just after STOP, for perf as for Ember.
        XCTAssertGreaterThanOrEqual(perf, times.count / 2 - times.count / 4)
        let script = try Tool.ember(["script", "--time", span, "-i", file]).stdout.components(separatedBy: " cpu-clock: ").count - 1
        XCTAssertEqual(script, perf)
        let folded = parseFolded(try Tool.ember(["collapse", "--count", "--time", span, "-i", file]).stdout).values.reduce(0, +)
        XCTAssertEqual(folded, UInt64(perf))
        let open = try Tool.ember(["script", "--time", String(format: "%.6f,", until), "-i", file]).stdout.components(separatedBy: " cpu-clock: ").count - 1
        XCTAssertEqual(open, times.count - times.count / 2)
        for bad in ["5", "b,c", "9,3", "10%/11", "30%-20%"] {
            let r = try Tool.ember(["script", "--time", bad, "-i", file])
            XCTAssertEqual(r.status, 1, bad)
            XCTAssertTrue(r.stderr.contains("--time"), r.stderr)
        }
        // Seconds from the start: the same samples as the absolute span, give or take the one at an end (the
        // printed times, and so this span, are cut to microseconds; the start is not).
        let relative = String(format: "%.6f,%.6f", from - times[0], until - times[0])
        let fromStart = try Tool.ember(["script", "--time", relative, "-i", file]).stdout.components(separatedBy: " cpu-clock: ").count - 1
        XCTAssertEqual(Double(fromStart), Double(perf), accuracy: 1)
        let outside = try Tool.ember(["script", "--time", "99999999,", "-i", file])
        XCTAssertEqual(outside.status, 1)
        XCTAssertTrue(outside.stderr.contains("is outside the recording, whose samples run from \(String(format: "%.6f", times[0]))"), outside.stderr)
    }

    /// Percent slices as perf takes them (`10%/3`, `0%-25%`, several joined by commas) keep perf's samples, on
    /// perf's recording and on Ember's (which note their first and last sample times for perf, as perf's do).
    func testPercentSlices() throws {
        try requireRoot()
        try requirePerf()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/p.data"
        XCTAssertEqual(try Tool.perf(["record", "-F", Tool.rate(999), "-o", file, "--", try Tool.demo(), "0.5"]).status, 0)
        XCTAssertEqual(try Tool.ember(["record", "-q", "-F", Tool.rate(999), "-o", dir + "/e.data", "--", try Tool.demo(), "0.5"]).status, 0)
        for recording in [file, dir + "/e.data"] {
            for slice in ["10%/3", "0%-25%", "10%/1,10%/10", "50%-100%"] {
                let perf = try Tool.perf(["script", "-F", "time", "--time", slice, "-i", recording]).stdout.split(separator: "\n")
                let ours = try Tool.ember(["script", "-F", "time", "--time", slice, "-i", recording]).stdout.split(separator: "\n")
                XCTAssertGreaterThan(perf.count, 10, "\(recording) \(slice)")
                XCTAssertEqual(Double(ours.count), Double(perf.count), accuracy: 1, "\(recording) \(slice)")
            }
        }
        // --summary: a sparkline a process, to see where to slice.
        let summary = try Tool.ember(["script", "--summary", "-i", file]).stdout
        XCTAssertTrue(summary.hasPrefix("# 0."), summary)
        XCTAssertNotNil(summary.range(of: #"\ndemo \d+ +\|[▁▂▃▄▅▆▇█ ]{60}\|  \d+\n"#, options: .regularExpression), summary)
        XCTAssertTrue(summary.contains("s from the start (--time START,STOP)"))
    }

    /// `script -F`, `-G` and `--ns`: the fields asked for and no others; `-G`'s sampled frames are perf's.
    func testScriptFields() throws {
        try requireRoot()
        try requirePerf()
        let file = try Tool.scratchDirectory() + "/f.data"
        XCTAssertEqual(try Tool.ember(["record", "-q", "-g", "-o", file, "--", try Tool.demo(), "0.3"]).status, 0)
        let samples = try Tool.perf(["script", "-F", "time", "-i", file]).stdout.split(separator: "\n").count
        let picked = try Tool.ember(["script", "-F", "comm,tid,time,ip,sym", "-i", file]).stdout.split(separator: "\n")
        let headers = picked.filter { !$0.hasPrefix("\t") }
        XCTAssertEqual(headers.count, samples)
        XCTAssertTrue(headers.allSatisfy { $0.range(of: #"^\S+ +\d+ +\d+\.\d{6}:$"#, options: .regularExpression) != nil }, "\(headers.prefix(3))")
        let frames = picked.filter { $0.hasPrefix("\t") }
        XCTAssertGreaterThan(frames.count, samples)
        XCTAssertTrue(frames.allSatisfy { !$0.contains("+0x") && !$0.contains("(/") }, "\(frames.prefix(3))")

        // perf prints a symbol only with its address: compare the symbols.
        func symbols(_ text: String) -> [Substring] { text.split(separator: "\n").map { $0.split(separator: " ").last ?? "" } }
        let leaves = symbols(try Tool.ember(["script", "-G", "-F", "ip,sym", "--perf-compat", "-i", file]).stdout)
        let perfLeaves = symbols(try Tool.perf(["script", "-G", "-F", "ip,sym", "-i", file]).stdout)
        XCTAssertEqual(leaves.count, samples)
        XCTAssertEqual(leaves, perfLeaves, "the sampled frames, one line each")

        let ns = try Tool.ember(["script", "--ns", "-F", "time", "-G", "-i", file]).stdout.split(separator: "\n")
        XCTAssertTrue(ns.allSatisfy { $0.range(of: #"^ *\d+\.\d{9}:$"#, options: .regularExpression) != nil }, "\(ns.prefix(3))")
        let changed = try Tool.ember(["script", "-F", "-cpu,-period,+srcline", "-i", file]).stdout
        XCTAssertFalse(changed.contains(" [00"), "no CPU")
        XCTAssertTrue(changed.contains("demo.c:"), "source lines")
        for bad in ["comm,bogus", "comm,+sym"] {
            let r = try Tool.ember(["script", "-F", bad, "-i", file])
            XCTAssertEqual(r.status, 1, bad)
            XCTAssertTrue(r.stderr.contains("-F takes fields"), r.stderr)
        }
    }

    /// A long reading shows a progress bar on a terminal (here a pseudo-terminal from script(1), the delay cut to
    /// nothing), redrawn in place and wiped at the end; not a byte of it when standard error is not a terminal.
    func testAnalysisProgressOnlyOnATerminal() throws {
        try requireRoot()
        try requirePerf()
        let file = try Tool.scratchDirectory() + "/big.data"
        let rec = try Tool.perf(["record", "-e", "raw_syscalls:sys_enter", "-o", file, "--", "dd", "if=/dev/zero", "of=/dev/null", "bs=1", "count=200000"])
        XCTAssertEqual(rec.status, 0, rec.stderr)
        let plain = try Tool.ember(["collapse", "-i", file])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertFalse(plain.stderr.contains("reading"), plain.stderr)
        setenv("EMBER_PROGRESS_AFTER", "0", 1)
        defer { unsetenv("EMBER_PROGRESS_AFTER") }
        let tty = try Tool.run("/usr/bin/script", ["-qec", "\(Tool.emberPath) collapse -i \(file) > /dev/null", "/dev/null"])
        XCTAssertTrue(tty.stdout.contains("\rember: reading \(file) [") && tty.stdout.contains("%\u{1b}[K"), tty.stdout)
        // Wiped after its last drawing (warnings may follow: perf can lose events of this busy recording).
        let lastDrawing = try XCTUnwrap(tty.stdout.range(of: "\rember: reading", options: .backwards))
        XCTAssertTrue(tty.stdout[lastDrawing.upperBound...].contains("\r\u{1b}[K"), "wiped at the end: \(tty.stdout.suffix(300))")
    }

    /// The smaller flags perf users type: script's --reltime and --deltatime (perf's times), the readers' short
    /// filters -c, -C and -d, --all-user, record's -T and --sample-cpu (always on), stat's --interval-count and
    /// --timeout.
    func testSmallerPerfFlags() throws {
        try requireRoot()
        try requirePerf()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/t.data"
        XCTAssertEqual(try Tool.ember(["record", "-q", "-T", "--sample-cpu", "--all-user", "-o", file, "--", try Tool.demo(), "0.2"]).status, 0)
        XCTAssertEqual(try Tool.perf(["evlist", "-i", file]).stdout, "cpu-clock:u\n")
        for flag in ["--reltime", "--deltatime"] {
            let perf = try Tool.perf(["script", "-i", file, flag, "-F", "time"]).stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            let ours = try Tool.ember(["script", "-i", file, flag, "-F", "time"]).stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            XCTAssertFalse(perf.isEmpty)
            XCTAssertEqual(ours, perf, flag)
        }
        let cpu = try Tool.ember(["script", "-i", file, "-F", "cpu"]).stdout.split(separator: "\n").first.map { String($0.trimmingCharacters(in: .whitespaces).dropFirst().prefix(3)) } ?? "0"
        let all = try Tool.ember(["collapse", "-i", file, "--count"]).stdout
        let filtered = try Tool.ember(["collapse", "-i", file, "--count", "-c", "demo", "-C", String(Int(cpu) ?? 0) + ",0-1", "-d", "demo,libc.so.6"]).stdout
        XCTAssertFalse(filtered.isEmpty)
        XCTAssertTrue(filtered.count <= all.count)
        let intervals = try Tool.ember(["stat", "-I", "100", "--interval-count", "2", "-x,", "-e", "task-clock", "--", "sleep", "1"])
        XCTAssertEqual(intervals.stderr.split(separator: "\n").count, 2, intervals.stderr)
        // perf's joined values (-F99, -x,) are the option's; the command's own arguments are left alone.
        let joined = try Tool.ember(["record", "-q", "-F99", "-o", dir + "/j.data", "--", "/bin/echo", "-F99", "-x,"])
        XCTAssertEqual(joined.status, 0, joined.stderr)
        XCTAssertEqual(joined.stdout, "-F99 -x,\n")
        // Without --: the command starts at the first word that is no option or option's value, whatever flags
        // come before it.
        let bare = try Tool.ember(["record", "-q", "--no-inherit", "-F99", "-o", dir + "/b.data", "/bin/echo", "-Dx=1", "-i.bak"])
        XCTAssertEqual(bare.status, 0, bare.stderr)
        XCTAssertEqual(bare.stdout, "-Dx=1 -i.bak\n")
        let valued = try Tool.ember(["record", "-q", "--call-graph", "fp", "-F99", "-o", dir + "/c.data", "/bin/echo", "-F99"])
        XCTAssertEqual(valued.stdout, "-F99\n", valued.stderr)
        XCTAssertTrue(try Tool.perf(["evlist", "-v", "-i", dir + "/j.data"]).stdout.contains("sample_freq }: 99,"))
        let timeout = try Tool.ember(["stat", "--timeout", "200", "-a", "-e", "task-clock"])
        XCTAssertTrue(timeout.stderr.contains("0.2"), timeout.stderr)
    }
}
