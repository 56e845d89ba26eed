import Foundation
import XCTest

/// A recording survives the recorder's death: SIGHUP finishes it like SIGTERM, and SIGKILL at any point leaves
/// a file that both Ember and perf read, names and all, with at most the last second missing.
final class SurvivalTests: XCTestCase {
    /// SIGINT, SIGTERM and SIGHUP stop the recording cleanly: the file is finalized and both tools read it.
    func testSignalsFinalizeTheFile() throws {
        try requireRoot()
        try requirePerf()
        let dir = try Tool.scratchDirectory()
        for (signal, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM"), (SIGHUP, "SIGHUP")] {
            let file = dir + "/\(name).data"
            let p = try Tool.startRecording(["record", "-g", "-q", "-o", file, "--", try Tool.demo(), "30"], output: file)
            kill(p.processIdentifier, signal)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationReason, .exit, "\(name): ember finishes the file instead of dying by the signal")
            let ember = try Tool.ember(["script", "-i", file])
            XCTAssertEqual(ember.status, 0)
            XCTAssertEqual(ember.stderr, "", "\(name): a finalized file reads without warnings")
            XCTAssertGreaterThan(ember.stdout.components(separatedBy: "cpu-clock:").count, 10)
            let perf = try Tool.perf(["script", "-i", file])
            XCTAssertEqual(perf.status, 0, perf.stderr)
            XCTAssertTrue(perf.stdout.contains("spin_primes"))
        }
    }

    func testSIGKILLAtRandomPointsLeavesFilesBothToolsRead() throws {
        try requireRoot()
        try requirePerf()
        let dir = try Tool.scratchDirectory()
        // Early kills land in set-up (before the file exists, or before its first round); later ones at random
        // points mid-run (each failure names its delay).
        let delays = [0.0, 0.02, 0.1] + (0..<5).map { _ in Double.random(in: 0.2...3.0) }
        for (i, delay) in delays.enumerated() {
            let file = dir + "/killed\(i).data"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Tool.emberPath)
            p.arguments = ["record", "-g", "-q", "-o", file, "--", try Tool.demo(), "30"]
            p.standardError = FileHandle.nullDevice
            try p.run()
            let started = Date()
            Thread.sleep(forTimeInterval: delay)
            let orphans = Tool.children(of: p.processIdentifier)
            kill(p.processIdentifier, SIGKILL)
            let ran = Date().timeIntervalSince(started)
            // The demo outlives its recorder; end it too (Foundation's wait would otherwise wait for it).
            for pid in orphans { kill(pid, SIGKILL) }
            p.waitUntilExit()
            guard FileManager.default.fileExists(atPath: file) else {
                XCTAssertLessThan(delay, 0.2, "killed after \(ran) s, the recording should exist")
                continue
            }
            let perf = try Tool.perf(["script", "-F", "time", "-i", file])
            XCTAssertEqual(perf.status, 0, "kill after \(ran) s: \(perf.stderr)")
            let times = perf.stdout.split(separator: "\n").compactMap { Double($0.trimmingCharacters(in: .whitespaces).dropLast()) }
            let ember = try Tool.ember(["script", "-i", file])
            XCTAssertEqual(ember.status, 0, ember.stderr)
            let emberSamples = ember.stdout.components(separatedBy: " cpu-clock: ").count - 1
            XCTAssertGreaterThanOrEqual(emberSamples, times.count, "Ember reads every sample perf reads, with the event's name")
            if ran > 1.8, let first = times.first, let last = times.last {
                // The header counts what was on disk at its last update (each second, at a round's end), and the
                // demo starts within a few tenths of a second: more than that is never missing.
                XCTAssertGreaterThan(last - first, ran - 1.8, "kill after \(ran) s kept only \(last - first) s")
            }
        }
    }

    /// A full disk stops the recording, not the command; the summary counts what the file holds and what was
    /// dropped, and its byte count is the file's size.
    func testFullDiskCountsDroppedSamplesAndSparesTheCommand() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        try XCTSkipUnless(Tool.run("/bin/mount", ["-t", "tmpfs", "-o", "size=200k", "tmpfs", dir]).status == 0, "cannot mount a tmpfs")
        defer { _ = try? Tool.run("/bin/umount", [dir]) }
        let file = dir + "/full.data"
        let r = try Tool.ember(["record", "-g", "-F", Tool.rate(4000), "-o", file, "--", "/bin/sh", "-c", "\(try Tool.demo()) 1; echo done"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stdout.contains("done"), "the command ran to its end")
        XCTAssertTrue(r.stderr.contains("No space left on device"), r.stderr)
        let summary = try XCTUnwrap(r.stderr.split(separator: "\n").first { $0.hasPrefix("ember record:") })
        let numbers = summary.split(separator: " ").compactMap { Int($0) }
        XCTAssertTrue(summary.contains("dropped (not written)"), String(summary))
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        XCTAssertTrue(numbers.contains(size), "the byte count is the file's size \(size): \(summary)")
        let ember = try Tool.ember(["script", "-i", file])
        XCTAssertEqual(ember.status, 0, ember.stderr)
        XCTAssertEqual(numbers.first, ember.stdout.components(separatedBy: " cpu-clock: ").count - 1,
                       "the summary's sample count is the file's")
    }
}
