import Foundation
import XCTest

/// perf's pipe format both ways (`record -o -`, `-i -`), and perf's compressed recordings (`perf record -z`).
final class PipeTests: XCTestCase {
    private func sh(_ script: String) throws -> Tool.Result {
        try Tool.run("/bin/sh", ["-c", script])
    }

    /// `ember record -o - | ember collapse -i -` works, and the command's own output does not enter the stream.
    func testEmberPipeIntoEmber() throws {
        try requireRoot()
        let r = try sh("'\(Tool.emberPath)' record -g -q -o - -- '\(try Tool.demo())' 1 | '\(Tool.emberPath)' collapse -i -")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains(";main;run_round;spin_primes "), r.stdout)
        XCTAssertFalse(r.stderr.contains("warning"), r.stderr)
        XCTAssertTrue(r.stderr.contains("demo: "), "the demo's output goes to stderr: \(r.stderr)")
    }

    /// perf reads Ember's stream with the events' names, and both tools see the same samples.
    func testPerfReadsEmbersPipeStream() throws {
        try requireRoot()
        try requirePerf()
        let dir = try Tool.scratchDirectory()
        let stream = dir + "/ember.pipe"
        XCTAssertEqual(try sh("'\(Tool.emberPath)' record -g -q -o - -- '\(try Tool.demo())' 1 > \(stream)").status, 0)
        let perf = try Tool.perf(["script", "-i", "-"], stdin: stream)
        XCTAssertEqual(perf.status, 0, perf.stderr)
        XCTAssertFalse(perf.stderr.contains("unexpected end"), perf.stderr)
        let perfSamples = perf.stdout.components(separatedBy: " cpu-clock: ").count - 1
        let ember = try Tool.ember(["script", "-i", "-"], stdin: stream)
        XCTAssertEqual(ember.status, 0, ember.stderr)
        XCTAssertGreaterThan(perfSamples, 500)
        XCTAssertEqual(ember.stdout.components(separatedBy: " cpu-clock: ").count - 1, perfSamples)
        assertFoldedAgree(PerfScriptFolder.fold(perf.stdout), parseFolded(try Tool.ember(["collapse", "-i", stream, "--perf-compat"]).stdout))
    }

    /// A tracepoint recording streams its formats (HEADER_TRACING_DATA), so perf decodes the fields.
    func testTracepointPipeStreamCarriesTheFormats() throws {
        try requireRoot()
        try requirePerf()
        let dir = try Tool.scratchDirectory()
        let stream = dir + "/tp.pipe"
        let r = try sh("'\(Tool.emberPath)' record -q -e sched:sched_switch -o - -- /bin/sh -c 'sleep 0.05; sleep 0.05' > \(stream)")
        XCTAssertEqual(r.status, 0, r.stderr)
        let perf = try Tool.perf(["script", "-i", "-"], stdin: stream)
        XCTAssertEqual(perf.status, 0, perf.stderr)
        XCTAssertTrue(perf.stdout.contains("sched:sched_switch:") && perf.stdout.contains("prev_comm="), perf.stdout)
        let ember = try Tool.ember(["script", "-i", "-"], stdin: stream)
        XCTAssertTrue(ember.stdout.contains("sched:sched_switch:") && ember.stdout.contains("prev_comm="), ember.stdout + ember.stderr)
    }

    /// perf's own pipe stream, plain and compressed, reads like perf reads it.
    func testEmberReadsPerfsPipeStreams() throws {
        try requireRoot()
        try requirePerf()
        let dir = try Tool.scratchDirectory()
        for (name, flags) in [("plain", ""), ("compressed", "-z")] {
            let stream = dir + "/\(name).pipe"
            let r = try sh("perf record \(flags) -g -F \(Tool.rate(2999)) -o - -- '\(try Tool.demo())' 1 > \(stream) 2>/dev/null")
            XCTAssertEqual(r.status, 0, r.stderr)
            let expected = PerfScriptFolder.fold(try Tool.perf(["script", "-i", "-"], stdin: stream).stdout)
            let collapse = try Tool.ember(["collapse", "-i", "-", "--perf-compat"], stdin: stream)
            XCTAssertEqual(collapse.status, 0, collapse.stderr)
            assertFoldedAgree(expected, parseFolded(collapse.stdout))
        }
    }

    /// `perf record -z` files: every compressed record is expanded (one zstd stream across records, records
    /// split between two of them), giving perf's stacks.
    func testEmberReadsPerfsCompressedRecordings() throws {
        try requireRoot()
        try requirePerf()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/z.data"
        let r = try Tool.perf(["record", "-z", "-g", "-F", Tool.rate(2999), "-o", file, "--", try Tool.demo(), "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Tool.perf(["report", "-i", file, "--header-only"]).stdout.contains("compressed"), true)
        let collapse = try Tool.ember(["collapse", "-i", file, "--perf-compat"])
        XCTAssertEqual(collapse.status, 0, collapse.stderr)
        XCTAssertEqual(collapse.stderr, "")
        assertFoldedAgree(PerfScriptFolder.fold(try Tool.perf(["script", "-i", file]).stdout), parseFolded(collapse.stdout))
    }

    func testPipeToATerminalIsRefused() throws {
        try requireRoot()
        // script(1) gives ember a terminal as stdout.
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "no script(1)")
        let r = try Tool.run("/usr/bin/script", ["-qec", "'\(Tool.emberPath)' record -o - -- /bin/true; echo status=$?", "/dev/null"])
        XCTAssertTrue(r.stdout.contains("standard output is a terminal"), r.stdout)
        XCTAssertTrue(r.stdout.contains("status=1"), r.stdout)
    }
}
