import Foundation
import XCTest

/// `ember collapse` and `ember flamegraph` on perf's own recordings, checked against an independent fold of
/// `perf script`.
final class CollapseTests: XCTestCase {
    /// At least 99% of the weight lands in stacks identical to those folded from perf script's output.
    func testCollapseAgreesWithPerfScriptOnPerfsRecording() throws {
        try requireRoot()
        try requirePerf()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/perf.data"
        let rec = try Tool.perf(["record", "-g", "-F", Tool.rate(2999), "-o", file, "--", try Tool.demo(), "1"])
        XCTAssertEqual(rec.status, 0, rec.stderr)
        let expected = PerfScriptFolder.fold(try Tool.perf(["script", "-i", file]).stdout)
        let collapse = try Tool.ember(["collapse", "-i", file, "--no-inline"])
        XCTAssertEqual(collapse.status, 0, collapse.stderr)
        assertFoldedAgree(expected, parseFolded(collapse.stdout))
    }

    /// --count weighs by samples, --pid and --tid split the root.
    func testCountPidAndTidOptions() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/c.data"
        XCTAssertEqual(try Tool.ember(["record", "-q", "-o", file, "--", try Tool.demo(), "0.3"]).status, 0)
        let byPeriod = parseFolded(try Tool.ember(["collapse", "-i", file]).stdout)
        let byCount = parseFolded(try Tool.ember(["collapse", "-i", file, "--count"]).stdout)
        XCTAssertEqual(Set(byPeriod.keys), Set(byCount.keys))
        XCTAssertGreaterThan(byPeriod.values.reduce(0, +), 1000 * byCount.values.reduce(0, +), "cpu-clock periods are in ns")
        let byPID = try Tool.ember(["collapse", "-i", file, "--pid"]).stdout
        XCTAssertNotNil(byPID.range(of: #"^demo-\d+;"#, options: .regularExpression))
        let byTID = try Tool.ember(["collapse", "-i", file, "--tid"]).stdout
        XCTAssertNotNil(byTID.range(of: #"^demo-(\d+)/\1;"#, options: .regularExpression))
    }

    /// A flame graph from a recording and from folded text: self-contained SVG naming the hot functions.
    func testFlameGraphFromRecordingAndFoldedFile() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/f.data"
        XCTAssertEqual(try Tool.ember(["record", "-g", "-q", "-o", file, "--", try Tool.demo(), "0.5"]).status, 0)
        let svg = dir + "/flame.svg"
        let r = try Tool.ember(["flamegraph", "-i", file, "-o", svg, "--colors", "kind", "--title", "Demo"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let text = try String(contentsOfFile: svg, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("<?xml"))
        XCTAssertTrue(text.contains("spin_primes"))
        XCTAssertTrue(text.contains(">Demo<"))
        XCTAssertFalse(text.contains("http://") && text.contains("<script src"), "no external resources")
        let folded = dir + "/out.folded"
        try Tool.ember(["collapse", "-i", file]).stdout.write(toFile: folded, atomically: true, encoding: .utf8)
        let svg2 = dir + "/flame2.svg"
        XCTAssertEqual(try Tool.ember(["flamegraph", "--folded", folded, "-o", svg2]).status, 0)
        XCTAssertTrue(try String(contentsOfFile: svg2, encoding: .utf8).contains("hash_strings"))
        // Deterministic: the same input gives the same bytes.
        let svg3 = dir + "/flame3.svg"
        XCTAssertEqual(try Tool.ember(["flamegraph", "--folded", folded, "-o", svg3]).status, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: svg2)), try Data(contentsOf: URL(fileURLWithPath: svg3)))
    }
}
