import Foundation
import XCTest

/// `ember record` against the real kernel, with perf reading what it wrote.
final class RecordTests: XCTestCase {
    /// The demo's own hot functions carry their designed shares, and their stacks reach main.
    func testDemoProfileHasExpectedSharesAndReachesMain() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let r = try Tool.ember(["record", "-g", "-q", "-o", dir + "/demo.data", "--", try Tool.demo(), "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("ember record: "), r.stderr)
        let folded = parseFolded(try Tool.ember(["collapse", "-i", dir + "/demo.data", "--count"]).stdout)
        let total = Double(folded.values.reduce(0, +))
        XCTAssertGreaterThan(total, 1500, "about 2000 samples expected at 999 Hz for 2 s")
        func leafShare(_ name: String) -> Double {
            Double(folded.filter { $0.key.hasSuffix(";" + name) }.values.reduce(0, +)) / total
        }
        XCTAssertEqual(leafShare("spin_primes"), 0.40, accuracy: 0.08)
        XCTAssertEqual(leafShare("hash_strings"), 0.20, accuracy: 0.06)
        let libcCopies = Double(folded.filter { $0.key.contains("__memset") || $0.key.contains("__memmove") }.values.reduce(0, +)) / total
        XCTAssertEqual(libcCopies, 0.20, accuracy: 0.08)
        for name in ["spin_primes", "hash_strings"] {
            let stacks = folded.filter { $0.key.hasSuffix(";" + name) }
            let reaching = stacks.filter { $0.key.contains(";main;run_round;" + name) }.values.reduce(0, +)
            XCTAssertGreaterThan(Double(reaching), 0.95 * Double(stacks.values.reduce(0, +)), "\(name) stacks should reach main")
        }
    }

    /// perf reads Ember's file without complaint and sees the same samples.
    func testPerfReadsEmberRecordingWithTheSameSamples() throws {
        try requireRoot()
        try requirePerf()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/e.data"
        XCTAssertEqual(try Tool.ember(["record", "-g", "-q", "-F", Tool.rate(1999), "-o", file, "--", try Tool.demo(), "1"]).status, 0)
        let perf = try Tool.perf(["script", "-i", file])
        XCTAssertEqual(perf.status, 0, perf.stderr)
        XCTAssertEqual(perf.stderr.trimmingCharacters(in: .whitespacesAndNewlines), "", "perf script warned")
        let report = try Tool.perf(["report", "-i", file, "--stdio"])
        XCTAssertEqual(report.status, 0, report.stderr)
        XCTAssertFalse(report.stderr.contains("arning"), report.stderr)
        XCTAssertTrue(report.stdout.contains("spin_primes"))
        let ember = try Tool.ember(["script", "-i", file])
        XCTAssertEqual(ember.status, 0)
        let perfSamples = perf.stdout.split(separator: "\n").filter { $0.hasSuffix("cpu-clock: ") || $0.hasSuffix("cpu-clock:") }.count
        let emberSamples = ember.stdout.split(separator: "\n").filter { $0.hasSuffix("cpu-clock: ") }.count
        XCTAssertGreaterThan(emberSamples, 1000)
        XCTAssertEqual(perfSamples, emberSamples)
        // The header names the binaries Ember saw, with build-ids perf can list.
        let buildIDs = try Tool.perf(["buildid-list", "-i", file])
        XCTAssertTrue(buildIDs.stdout.contains(try Tool.demo()), buildIDs.stdout)
        let header = try Tool.perf(["report", "-i", file, "--header-only"]).stdout
        for field in ["# hostname :", "# os release :", "# nrcpus online :", "# cmdline :", "# event : name = cpu-clock"] {
            XCTAssertTrue(header.contains(field), "missing \(field) in\n\(header)")
        }
    }

    /// A two-page ring at a high rate wraps many times; every record still parses.
    func testSmallRingWrapsAroundAndEveryRecordParses() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/wrap.data"
        let r = try Tool.ember(["record", "-g", "-q", "-m", "2", "-F", Tool.rate(20000), "-o", file, "--", try Tool.demo(), "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let samples = try XCTUnwrap(Int(r.stderr.split(separator: " ").drop { $0 != "record:" }.dropFirst().first ?? ""))
        XCTAssertGreaterThan(samples, 4 * 8192 / 64, "enough samples to wrap an 8 KiB ring several times")
        let script = try Tool.ember(["script", "-i", file])
        XCTAssertEqual(script.status, 0)
        XCTAssertFalse(script.stderr.contains("corrupt") || script.stderr.contains("malformed"), script.stderr)
        XCTAssertEqual(script.stdout.components(separatedBy: "cpu-clock:").count - 1, samples)
    }

    /// A ring too small for the rate loses records; the loss is counted in the summary and warned about once.
    func testLostEventsAreReported() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/lost.data"
        // All CPUs, the kernel's maximum rate, one data page per CPU, and a busy machine: the rings overflow.
        let r = try Tool.ember(["record", "-a", "-g", "-q", "-m", "1", "-F", Tool.rate(100000), "-o", file, "--",
                                try Tool.demo(), "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let summary = try XCTUnwrap(r.stderr.split(separator: "\n").first { $0.hasPrefix("ember record:") })
        let lost = try XCTUnwrap(Int(summary.split(separator: ",")[1].split(separator: " ")[0]))
        try XCTSkipIf(lost == 0, "the ring kept up this time; nothing was lost to report")
        XCTAssertEqual(r.stderr.components(separatedBy: "events were lost").count - 1, 1, r.stderr)
        let script = try Tool.ember(["script", "-i", file])
        XCTAssertTrue(script.stderr.contains("events were lost"), script.stderr)
    }

    /// `-p` attaches to a running process; its existing mappings are synthesized so samples symbolize.
    func testAttachToRunningProcess() throws {
        try requireRoot()
        let demo = Process()
        demo.executableURL = URL(fileURLWithPath: try Tool.demo())
        demo.arguments = ["20"]
        demo.standardOutput = FileHandle.nullDevice
        try demo.run()
        defer { demo.terminate(); demo.waitUntilExit() }
        Thread.sleep(forTimeInterval: 0.3)
        let dir = try Tool.scratchDirectory()
        let r = try Tool.ember(["record", "-g", "-q", "-p", "\(demo.processIdentifier)", "--duration", "1", "-o", dir + "/p.data"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let folded = parseFolded(try Tool.ember(["collapse", "-i", dir + "/p.data", "--count"]).stdout)
        XCTAssertGreaterThan(folded.filter { $0.key.hasSuffix("main;run_round;spin_primes") }.values.reduce(0, +), 100)
    }
}
