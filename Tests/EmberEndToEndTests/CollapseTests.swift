import Foundation
import XCTest

/// `ember collapse` and `ember flamegraph` on perf's own recordings, checked against an independent fold of
/// `perf script`.
final class CollapseTests: XCTestCase {
    /// With --perf-compat, at least 99.9% of the weight lands in stacks identical to those folded from perf
    /// script's output.
    func testCollapseAgreesWithPerfScriptOnPerfsRecording() throws {
        try requireRoot()
        try requirePerf()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/perf.data"
        let rec = try Tool.perf(["record", "-g", "-F", Tool.rate(2999), "-o", file, "--", try Tool.demo(), "1"])
        XCTAssertEqual(rec.status, 0, rec.stderr)
        let expected = PerfScriptFolder.fold(try Tool.perf(["script", "-i", file]).stdout)
        let collapse = try Tool.ember(["collapse", "-i", file, "--perf-compat"])
        XCTAssertEqual(collapse.status, 0, collapse.stderr)
        assertFoldedAgree(expected, parseFolded(collapse.stdout), share: 0.999)
    }

    /// --perf-compat on perf's recordings of software nobody here wrote (coreutils' sort and sha256sum, gzip, the
    /// python interpreter, gcc's cc1): the folded stacks are perf script's for at least 99.9% of the weight. Their
    /// PLT stubs, ld.so labels, versioned libc names, template C++ names and exec-time samples all have to agree.
    func testPerfCompatAgreesOnRealPrograms() throws {
        try requireRoot()
        try requirePerf()
        let dir = try Tool.scratchDirectory()
        let numbers = dir + "/numbers.txt", source = dir + "/many.c"
        try writeNumbers(400_000, to: numbers)
        try ((0..<800).map { "int f\($0)(int x) { int s = 0; for (int j = 0; j < x; j++) s += j * \($0) % 7; return s; }" }
             + ["int main(void) { return f1(3); }"]).joined(separator: "\n").write(toFile: source, atomically: true, encoding: .utf8)
        let workloads: [(String, [String])] = [
            ("sort", ["/usr/bin/sort", "-n", numbers, "-o", "/dev/null"]),
            ("sha256sum", ["/usr/bin/sh", "-c", "for i in 1 2 3 4 5 6 7 8; do /usr/bin/sha256sum \(numbers); done"]),
            ("gzip", ["/usr/bin/sh", "-c", "/usr/bin/gzip -c \(numbers) \(numbers) \(numbers) > /dev/null"]),
            ("python3", ["/usr/bin/env", "python3", "-c", "import json; json.loads(json.dumps([{'a': i, 'b': str(i)} for i in range(100000)]))"]),
            ("gcc", ["/usr/bin/gcc", "-O2", "-c", source, "-o", dir + "/many.o"]),
        ]
        for (name, argv) in workloads {
            let file = dir + "/\(name).data"
            let rec = try Tool.perf(["record", "-g", "-F", Tool.rate(1999), "-o", file, "--"] + argv)
            XCTAssertEqual(rec.status, 0, "\(name): \(rec.stderr)")
            let expected = PerfScriptFolder.fold(try Tool.perf(["script", "-i", file]).stdout)
            let collapse = try Tool.ember(["collapse", "-i", file, "--perf-compat"])
            XCTAssertEqual(collapse.status, 0, "\(name): \(collapse.stderr)")
            assertFoldedAgree(expected, parseFolded(collapse.stdout), share: 0.999)
        }
    }

    /// `report` lists unresolved code (a stripped sort) per address with `--sort symbol,address`, and under
    /// --perf-compat exactly as `perf report` does: the same top rows, percentages and addresses.
    func testReportListsUnresolvedCodePerAddressLikePerf() throws {
        try requireRoot()
        try requirePerf()
        let dir = try Tool.scratchDirectory()
        let numbers = dir + "/numbers.txt", file = dir + "/sort.data"
        try writeNumbers(300_000, to: numbers)
        XCTAssertEqual(try Tool.perf(["record", "-F", Tool.rate(1999), "-o", file, "--", "/usr/bin/sort", "-n", numbers, "-o", "/dev/null"]).status, 0)
        let perf = reportRows(try Tool.perf(["report", "-i", file, "--stdio", "--no-children", "--sort", "dso,symbol"]).stdout)
        let ember = reportRows(try Tool.ember(["report", "-i", file, "--no-children", "--sort", "dso,symbol", "--perf-compat"]).stdout)
        XCTAssertTrue(perf.contains { $0.contains("[.] 0x0000") }, "perf lists sort's code per address: \(perf)")
        XCTAssertEqual(ember, perf)
        let byAddress = try Tool.ember(["report", "-i", file, "--no-children", "--sort", "dso,symbol,address"]).stdout
        XCTAssertTrue(byAddress.contains("[.] [unknown]"), byAddress)
        XCTAssertNotNil(byAddress.range(of: #"\[unknown\] +0x0000[0-9a-f]{12}"#, options: .regularExpression), byAddress)
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
