import Foundation
import XCTest

/// `ember record --overwrite`: snapshots of the overwrite rings on SIGUSR2 and at the end, read by Ember and perf.
final class FlightRecorderTests: XCTestCase {
    private static let programs = Tool.packageRoot.appendingPathComponent("Tests/Programs").path

    private func phases() throws -> String {
        try Tool.compileC(source: Self.programs + "/phases.c", name: "phases", flags: ["-O1", "-g", "-fno-omit-frame-pointer"])
    }

    /// Runs `ember record ARGS` in the background, sends SIGUSR2 after each of `signals` seconds (from the
    /// start), and returns its stderr once it has exited.
    private func flightRecord(_ arguments: [String], signalsAt signals: [Double]) throws -> (status: Int32, stderr: String) {
        let dir = try Tool.scratchDirectory()
        let log = dir + "/stderr"
        FileManager.default.createFile(atPath: log, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Tool.emberPath)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle(forWritingAtPath: log)
        let start = Date()
        try p.run()
        for at in signals {
            Thread.sleep(forTimeInterval: max(0, at - Date().timeIntervalSince(start)))
            kill(p.processIdentifier, SIGUSR2)
        }
        p.waitUntilExit()
        return (p.terminationStatus, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    /// The snapshot lines: each file and the sample count it states.
    private func snapshots(_ stderr: String) -> [(path: String, samples: Int)] {
        stderr.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("ember record: snapshot ") else { return nil }
            let rest = line.dropFirst("ember record: snapshot ".count)
            guard let colon = rest.range(of: ": ") else { return nil }
            let count = rest[colon.upperBound...].split(separator: " ").first.flatMap { Int($0) } ?? -1
            return (String(rest[..<colon.lowerBound]), count)
        }
    }

    /// A snapshot taken during phase B, once phase A is older than what the rings keep, holds B's samples and
    /// none of A's; the final snapshot too. Every snapshot is a whole perf.data file: perf and Ember read the
    /// same number of samples, the number the snapshot line gave, named `FILE.<YYYYMMDDHHMMSSCC>`. The program stays
    /// on one CPU: each CPU has a ring of its own, and one that the program left during phase A would keep A's
    /// samples.
    func testSnapshotHoldsTheNewestPhase() throws {
        try requireRoot()
        try requirePerf()
        let binary = try phases()
        let output = try Tool.scratchDirectory() + "/f.data"
        let r = try flightRecord(["record", "--overwrite", "-g", "-m", "8", "-F", Tool.rate(999), "-o", output, "--", "taskset", "-c", "0", binary, "1.5", "3"],
                                 signalsAt: [3.5])
        XCTAssertEqual(r.status, 0, r.stderr)
        let taken = snapshots(r.stderr)
        XCTAssertEqual(taken.count, 2, "one on SIGUSR2, one at the end: \(r.stderr)")
        for (path, samples) in taken {
            let name = URL(fileURLWithPath: path).lastPathComponent
            XCTAssertNotNil(name.range(of: #"^f\.data\.20\d{14}$"#, options: .regularExpression), name)
            let folded = parseFolded(try Tool.ember(["collapse", "--count", "-i", path]).stdout)
            let inB = folded.filter { $0.key.contains("phase_b") }.values.reduce(0, +)
            XCTAssertGreaterThan(inB, 50, "\(path): \(folded.sorted { $0.value > $1.value }.prefix(5))")
            XCTAssertEqual(folded.filter { $0.key.contains("phase_a") }.values.reduce(0, +), 0, "phase A aged out of \(path)")
            XCTAssertEqual(folded.values.reduce(0, +), UInt64(samples), path)
            let perf = try Tool.perf(["script", "-F", "event", "-i", path])
            XCTAssertEqual(perf.status, 0, perf.stderr)
            let perfSamples = perf.stdout.split(separator: "\n").count
            XCTAssertEqual(perfSamples, samples, "perf reads every sample of \(path)")
        }
    }

    /// Samples of processes that exited inside the window resolve: the side-band keeps their maps.
    func testExitedProcessesResolve() throws {
        try requireRoot()
        let binary = try phases()
        let output = try Tool.scratchDirectory() + "/x.data"
        let script = "for i in 1 2 3 4 5; do \(binary) 0.05 0.15; done"
        let r = try flightRecord(["record", "--overwrite", "-g", "-m", "64", "-o", output, "--", "/bin/sh", "-c", script], signalsAt: [])
        XCTAssertEqual(r.status, 0, r.stderr)
        guard let final = snapshots(r.stderr).last else { return XCTFail("no snapshot: \(r.stderr)") }
        let folded = parseFolded(try Tool.ember(["collapse", "--count", "--comms", "phases", "-i", final.path]).stdout)
        let total = folded.values.reduce(0, +)
        let resolved = folded.filter { $0.key.contains(";main;") }.values.reduce(0, +)
        XCTAssertGreaterThan(total, 300, "\(folded)")
        XCTAssertGreaterThanOrEqual(Double(resolved) / Double(total), 0.99, "\(folded.sorted { $0.value > $1.value }.prefix(5))")
    }

    /// `--switch-max-files 2` keeps the newest two of four snapshots; `--no-final-snapshot` writes none at the end.
    func testSwitchMaxFilesAndNoFinalSnapshot() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let r = try flightRecord(["record", "--overwrite", "--switch-max-files", "2", "-o", dir + "/m.data", "--", try phases(), "0", "2"],
                                 signalsAt: [0.5, 1.0, 1.5])
        XCTAssertEqual(r.status, 0, r.stderr)
        let taken = snapshots(r.stderr).map(\.path)
        XCTAssertEqual(taken.count, 4, r.stderr)
        let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("m.data.") }.sorted()
        XCTAssertEqual(left, taken.suffix(2).map { URL(fileURLWithPath: $0).lastPathComponent })

        let none = try flightRecord(["record", "--overwrite", "--no-final-snapshot", "-o", dir + "/n.data", "--", try phases(), "0", "0.3"], signalsAt: [])
        XCTAssertEqual(none.status, 0, none.stderr)
        XCTAssertTrue(snapshots(none.stderr).isEmpty, none.stderr)
    }

    /// `--switch-output 2s --switch-max-files 3` over 10 s: three files left, the newest, each read by Ember and
    /// perf, with no gap between consecutive files beyond about one sampling period.
    func testRotationBySizeAndTimeLosesNothingBetweenFiles() throws {
        try requireRoot()
        try requirePerf()
        let dir = try Tool.scratchDirectory()
        let r = try Tool.ember(["record", "-q", "--switch-output", "2s", "--switch-max-files", "3", "-F", "999", "-o", dir + "/r.data",
                                "--", try phases(), "0", "10"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("r.data.") }.sorted()
        XCTAssertEqual(files.count, 3, "\(files) \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("3 files kept, the last \(dir)/\(files.last ?? "")"), r.stderr)
        var times: [[Double]] = []
        for file in files {
            let perf = try Tool.perf(["script", "-F", "time", "-i", dir + "/" + file])
            XCTAssertEqual(perf.status, 0, perf.stderr)
            let t = perf.stdout.split(separator: "\n").compactMap { Double($0.trimmingCharacters(in: .whitespaces).dropLast()) }
            XCTAssertGreaterThan(t.count, 1000, file)
            let ember = parseFolded(try Tool.ember(["collapse", "--count", "-i", dir + "/" + file]).stdout)
            XCTAssertEqual(ember.values.reduce(0, +), UInt64(t.count), "Ember and perf read the same samples of \(file)")
            times.append(t)
        }
        for (before, after) in zip(times, times.dropFirst()) {
            let gap = (after.first ?? 0) - (before.last ?? 0)
            XCTAssertLessThan(gap, 0.0035, "about one 1 ms period between files, not \(gap) s")
        }
        // A switch on each SIGUSR2, without --overwrite.
        let signalled = try flightRecord(["record", "--switch-output", "signal", "-o", dir + "/s.data", "--", try phases(), "0", "1.5"],
                                         signalsAt: [0.5, 1.0])
        XCTAssertEqual(signalled.status, 0, signalled.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("s.data.") }.count, 3, signalled.stderr)
    }

    /// `--switch-output-event`: a uprobe on `burn` (entered by phase A, then by phase B 0.3 s later) writes a
    /// snapshot at each entry, the second holding phase A's samples; `--snapshot-min-interval 1` (the default)
    /// keeps only the first and says how many hits it skipped. Without --overwrite, each hit starts the next file.
    func testSnapshotOnAnEvent() throws {
        try requireRoot()
        let binary = try phases()
        let dir = try Tool.scratchDirectory()
        let probe = "uprobe:\(binary):burn"
        let every = try Tool.ember(["record", "--overwrite", "-g", "--snapshot-min-interval", "0", "--switch-output-event", probe,
                                    "-o", dir + "/e.data", "--", binary, "0.3", "0.5"])
        XCTAssertEqual(every.status, 0, every.stderr)
        let taken = snapshots(every.stderr)
        XCTAssertEqual(taken.count, 3, "two hits and the end: \(every.stderr)")
        if taken.count == 3 {
            let second = parseFolded(try Tool.ember(["collapse", "--count", "-i", taken[1].path]).stdout)
            XCTAssertGreaterThan(second.filter { $0.key.contains("phase_a") }.values.reduce(0, +), 200, "\(second)")
            // The snapshot follows the hit within milliseconds: a few of phase B's first samples at most.
            XCTAssertLessThanOrEqual(second.filter { $0.key.contains("phase_b") }.values.reduce(0, +), 20, "\(second)")
        }
        let limited = try Tool.ember(["record", "--overwrite", "--switch-output-event", probe, "-o", dir + "/l.data", "--", binary, "0.3", "0.5"])
        XCTAssertEqual(snapshots(limited.stderr).count, 2, limited.stderr)
        XCTAssertTrue(limited.stderr.contains("1 hit of the snapshot event came within --snapshot-min-interval"), limited.stderr)
        let rotated = try Tool.ember(["record", "--snapshot-min-interval", "0", "--switch-output-event", probe, "-o", dir + "/r.data", "--", binary, "0.3", "0.5"])
        XCTAssertEqual(rotated.status, 0, rotated.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("r.data.") }.count, 3, rotated.stderr)
    }

    /// `--history 0.5`: rings sized from the rate keep at least half a second, and the snapshot line says how much
    /// they hold (not the 2 s the command ran).
    func testHistorySizesTheRings() throws {
        try requireRoot()
        let r = try Tool.ember(["record", "--overwrite", "--history", "0.5", "-F", "999", "-o", try Tool.scratchDirectory() + "/h.data",
                                "--", try phases(), "0", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let line = r.stderr.split(separator: "\n").first { $0.contains("s of history") } ?? ""
        let seconds = line.split(separator: " ").reversed().dropFirst(3).first.flatMap { Double($0) } ?? -1
        XCTAssertGreaterThanOrEqual(seconds, 0.47, String(line))
        XCTAssertLessThan(seconds, 1.5, String(line))
    }

    /// `--snapshot-on-latency`: of 12 calls of handle_request, every 4th takes 60 ms in stall(): exactly three
    /// snapshots past 50 ms (and the final one), each named for its call and holding that call's samples in
    /// stall(); with the default 1 s minimum interval, one, and the two skipped counted.
    func testSnapshotOnSlowCall() throws {
        try requireRoot()
        let binary = try Tool.compileC(source: Self.programs + "/slowcalls.c", name: "slowcalls", flags: ["-O1", "-g", "-fno-omit-frame-pointer"])
        let dir = try Tool.scratchDirectory()
        let every = try Tool.ember(["record", "--overwrite", "-g", "-F", "999", "--snapshot-min-interval", "0",
                                    "--snapshot-on-latency", "\(binary):handle_request>50ms", "-o", dir + "/s.data", "--", binary, "12"])
        XCTAssertEqual(every.status, 0, every.stderr)
        let taken = snapshots(every.stderr)
        XCTAssertEqual(taken.count, 4, every.stderr)
        XCTAssertEqual(every.stderr.components(separatedBy: " ms call of handle_request in thread ").count - 1, 3, every.stderr)
        var previous: UInt64 = 0
        for snapshot in taken.prefix(3) {
            let folded = parseFolded(try Tool.ember(["collapse", "--count", "-i", snapshot.path]).stdout)
            let inStall = folded.filter { $0.key.contains("handle_request;stall") }.values.reduce(0, +)
            XCTAssertGreaterThanOrEqual(inStall, previous + 40, "the slow call's own samples are in \(snapshot.path)")
            previous = inStall
        }
        let limited = try Tool.ember(["record", "--overwrite", "--snapshot-on-latency", "\(binary):handle_request>50ms",
                                      "-o", dir + "/l.data", "--", binary, "12"])
        XCTAssertEqual(snapshots(limited.stderr).count, 2, limited.stderr)
        XCTAssertTrue(limited.stderr.contains("2 slow calls of handle_request came within --snapshot-min-interval"), limited.stderr)
    }

    /// A disk that fills up: the snapshot that does not fit is removed (no partial file) with one warning, the
    /// recorder takes the next one, the snapshots written stay readable, and the exit status is 1. The same for
    /// files rotated by time.
    func testFullDiskLosesOneSnapshotNotTheRecording() throws {
        try requireRoot()
        let binary = try phases()
        let dir = try Tool.scratchDirectory()
        try XCTSkipUnless(Tool.run("/bin/mount", ["-t", "tmpfs", "-o", "size=200k", "tmpfs", dir]).status == 0, "cannot mount a tmpfs")
        defer { _ = try? Tool.run("/bin/umount", [dir]) }
        let r = try Tool.ember(["record", "--overwrite", "-g", "-m", "64", "--snapshot-min-interval", "0", "--switch-output-event",
                                "uprobe:\(binary):burn", "-o", dir + "/f.data", "--", binary, "0.5", "1"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(r.stderr.components(separatedBy: "was not written").count - 1, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("No space left on device"), r.stderr)
        let written = snapshots(r.stderr).map(\.path)
        XCTAssertFalse(written.isEmpty, r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), written.map { URL(fileURLWithPath: $0).lastPathComponent }.sorted(),
                       "only whole snapshots are left")
        for path in written { XCTAssertEqual(try Tool.ember(["script", "-i", path]).status, 0, path) }

        // Rotation on the same full disk: recording goes on through it, dropping and counting what cannot be
        // written; every file left is readable; the command runs to its end.
        for file in try FileManager.default.contentsOfDirectory(atPath: dir) { try FileManager.default.removeItem(atPath: dir + "/" + file) }
        // The kernel's chain alone (fp,norepair): small samples, so that several files fit before the disk is full.
        let rotated = try Tool.ember(["record", "-q", "--call-graph", "fp,norepair", "-F", Tool.rate(4000), "--switch-output", "0.2s", "-o", dir + "/r.data",
                                      "--", "/bin/sh", "-c", "\(try Tool.demo()) 1.5; echo done"])
        XCTAssertEqual(rotated.status, 1, rotated.stderr)
        XCTAssertTrue(rotated.stdout.contains("done"), "the command ran to its end")
        XCTAssertTrue(rotated.stderr.contains("dropped (not written)"), rotated.stderr)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("r.data.") }
        XCTAssertGreaterThan(files.count, 2, rotated.stderr)
        for file in files { XCTAssertEqual(try Tool.ember(["script", "-i", dir + "/" + file]).status, 0, file) }
    }

    /// A probed binary replaced (and its old file deleted) while recording: its probe stops firing, as the kernel
    /// keeps it on the old file, and nothing else stops: the recording goes on to its final snapshot.
    func testReplacedProbeTargetStopsNothing() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let binary = dir + "/phases-copy"
        try FileManager.default.copyItem(atPath: try phases(), toPath: binary)
        let script = "\(binary) 0.2 0.2; cp \(binary) \(binary).new; mv \(binary).new \(binary); \(binary) 0.2 0.2"
        let r = try Tool.ember(["record", "--overwrite", "--snapshot-min-interval", "0", "--switch-output-event", "uprobe:\(binary):burn",
                                "-o", dir + "/g.data", "--", "/bin/sh", "-c", script])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(snapshots(r.stderr).count, 3, "two hits on the first file, none on its replacement, and the end: \(r.stderr)")
    }

    func testBadFlightOptions() throws {
        for (arguments, message) in [(["--overwrite", "--switch-output", "30s"], "drop --overwrite to rotate"),
                                     (["--switch-output", "30x"], "a time such as 30s"),
                                     (["--switch-max-files", "2"], "goes with --overwrite or --switch-output"),
                                     (["--switch-output", "1M", "-o", "-"], "give a file name"),
                                     (["--overwrite", "--switch-max-files", "0"], "1 or more"),
                                     (["--no-final-snapshot"], "goes with --overwrite"),
                                     (["--overwrite", "-o", "-"], "give a file name"),
                                     (["-m", "12Q"], "such as 512K or 16M"),
                                     (["--overwrite", "--switch-output-event", "nosuch:event"], "no tracepoint nosuch:event"),
                                     (["--snapshot-min-interval", "2"], "goes with --switch-output-event"),
                                     (["--history", "5"], "add --overwrite"),
                                     (["--snapshot-on-latency", "/bin/true:main>5ms"], "add --overwrite"),
                                     (["--overwrite", "--snapshot-on-latency", "/bin/true:main"], "BINARY:SYMBOL>DURATION"),
                                     (["--overwrite", "--snapshot-on-latency", "/bin/true:main>5xs"], "BINARY:SYMBOL>DURATION"),
                                     (["--overwrite", "--history", "5", "-m", "64"], "use one")] {
            let r = try Tool.ember(["record"] + arguments + ["--", "/bin/true"])
            XCTAssertEqual(r.status, 1, "\(arguments): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(message), "\(arguments): \(r.stderr)")
        }
    }
}
