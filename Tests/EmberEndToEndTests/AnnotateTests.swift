import Foundation
import XCTest

/// `ember annotate`: each instruction's and source line's share of a function's samples, checked against perf
/// annotate on the same recording and against gdb for the lines.
final class AnnotateTests: XCTestCase {
    private static let source = Tool.packageRoot.appendingPathComponent("Tests/Programs/hotline.c").path

    /// `PERCENT :  ADDR:  text` rows: percent by address (hex, as printed).
    private func instructionRows(_ text: String) -> [String: Double] {
        var rows: [String: Double] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2)
            guard parts.count == 3, let percent = Double(parts[0].trimmingCharacters(in: .whitespaces)) else { continue }
            let address = parts[1].trimmingCharacters(in: .whitespaces)
            guard !address.isEmpty, address.allSatisfy(\.isHexDigit) else { continue }
            rows[address, default: 0] += percent
        }
        return rows
    }

    /// The summed percent of the instructions under source rows that contain `marker` (perf's and Ember's full layout).
    private func percentUnder(_ marker: String, in text: String) -> Double {
        var under = false, sum = 0.0
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count >= 2 else { continue }
            if parts[0].trimmingCharacters(in: .whitespaces).isEmpty {
                if parts.count >= 2, !line.hasSuffix(":") { under = line.contains(marker) }
                continue
            }
            if under, let percent = Double(parts[0].trimmingCharacters(in: .whitespaces)) { sum += percent }
        }
        return sum
    }

    private func record(_ dir: String, _ binary: String, mode: [String], ember: Bool) throws -> String {
        let data = dir + "/" + (ember ? "ember" : "perf") + mode.joined() + ".data"
        let arguments = ["record", "-q", "-F", Tool.rate(999)] + mode + ["-o", data, "--", binary, "1", "mixed"]
        let r = ember ? try Tool.ember(arguments) : try Tool.perf(arguments)
        XCTAssertEqual(r.status, 0, r.stderr)
        return data
    }

    /// On perf's own recording: the hot line holds ≥ 80% of hot_function as perf annotate shows it too, the
    /// percentages of the ten hottest instructions agree with perf's within a point, and the hottest instruction's
    /// line is gdb's.
    func testAgreesWithPerfAnnotate() throws {
        try requireRoot()
        try requirePerf()
        let dir = try Tool.scratchDirectory()
        let binary = try Tool.compileC(source: AnnotateTests.source, name: "hotline", flags: ["-O2", "-g", "-fno-omit-frame-pointer"])
        let data = try record(dir, binary, mode: ["-g"], ember: false)
        let ours = try Tool.ember(["annotate", "-i", data, "hot_function"])
        XCTAssertEqual(ours.status, 0, ours.stderr)
        let theirs = try Tool.perf(["annotate", "-i", data, "--stdio", "hot_function"])
        XCTAssertEqual(theirs.status, 0, theirs.stderr)
        let perfRows = instructionRows(theirs.stdout), emberRows = instructionRows(ours.stdout)
        XCTAssertGreaterThan(perfRows.count, 10, theirs.stdout)
        XCTAssertEqual(Set(perfRows.keys), Set(emberRows.keys), "the same instructions")
        for (address, percent) in perfRows.sorted(by: { $0.value > $1.value }).prefix(10) {
            XCTAssertEqual(emberRows[address] ?? -1, percent, accuracy: 1.0, "instruction \(address)\n\(ours.stdout)")
        }
        XCTAssertGreaterThanOrEqual(percentUnder("// HOT", in: ours.stdout), 80, ours.stdout)
        XCTAssertGreaterThanOrEqual(percentUnder("// HOT", in: theirs.stdout), 80, theirs.stdout)
        let sourceOnly = try Tool.ember(["annotate", "-i", data, "hot_function", "--source-only"])
        XCTAssertEqual(sourceOnly.status, 0, sourceOnly.stderr)
        let hot = sourceOnly.stdout.split(separator: "\n").first { $0.contains("// HOT") }.map(String.init) ?? ""
        XCTAssertGreaterThanOrEqual(Double(hot.split(separator: ":")[0].trimmingCharacters(in: .whitespaces)) ?? 0, 80, sourceOnly.stdout)

        // gdb, the oracle, on the hottest instruction's line.
        let hottest = emberRows.max { $0.value < $1.value }!.key
        let gdb = try Tool.run("/usr/bin/gdb", ["-batch", "-nx", "-ex", "info line *0x\(hottest)", binary])
        guard let gdbLine = try gdb.stdout.firstMatch(of: Regex("Line ([0-9]+) of"))?.output[1].substring else { return XCTFail("gdb: \(gdb.stdout) \(gdb.stderr)") }
        let lines = ours.stdout.split(separator: "\n")
        let row = lines.firstIndex { $0.contains(" \(hottest):") }!
        let sourceRow = lines[..<row].last { $0.hasPrefix("         : ") && !$0.hasSuffix(":") }!
        XCTAssertTrue(sourceRow.hasPrefix("         : \(gdbLine) "), "gdb puts 0x\(hottest) on line \(gdbLine): \(sourceRow)")

        // Jumps and calls name their targets; Intel syntax on request.
        XCTAssertTrue(ours.stdout.contains("cold_setup\n"), ours.stdout)
        XCTAssertNotNil(try ours.stdout.firstMatch(of: Regex("j[a-z]+ +hot_function\\+0x[0-9a-f]+\n")), ours.stdout)
        let intel = try Tool.ember(["annotate", "-i", data, "hot_function", "-M", "intel", "--asm-only"])
        XCTAssertEqual(intel.status, 0, intel.stderr)
        XCTAssertFalse(intel.stdout.split(separator: "\n").dropFirst(3).contains { $0.contains("%") }, intel.stdout)
        XCTAssertEqual(Set(instructionRows(intel.stdout).keys), Set(emberRows.keys))
    }

    /// On Ember's DWARF recording: the hottest function by default, an inlined helper's time on its own line.
    func testInlineLinesOnEmbersRecording() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let binary = try Tool.compileC(source: AnnotateTests.source, name: "hotline", flags: ["-O2", "-g"])
        let data = try record(dir, binary, mode: ["--call-graph", "dwarf"], ember: true)
        let hottest = try Tool.ember(["annotate", "-i", data, "--source-only"])
        XCTAssertEqual(hottest.status, 0, hottest.stderr)
        XCTAssertTrue(hottest.stdout.contains("   hot_function: "), hottest.stdout)
        let mixed = try Tool.ember(["annotate", "-i", data, "mixed", "--source-only"])
        XCTAssertEqual(mixed.status, 0, mixed.stderr)
        let inline = mixed.stdout.split(separator: "\n").first { $0.contains("// INLINE") }.map(String.init) ?? ""
        XCTAssertGreaterThanOrEqual(Double(inline.split(separator: ":")[0].trimmingCharacters(in: .whitespaces)) ?? 0, 50, mixed.stdout)
    }

    /// A binary without debug info: instructions only, said once; --source-only refuses with a reason.
    func testWithoutDebugInfo() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let binary = try Tool.compileC(source: AnnotateTests.source, name: "hotline", flags: ["-O2", "-fno-omit-frame-pointer"])
        XCTAssertEqual(try Tool.run("/usr/bin/strip", ["-g", binary]).status, 0)
        let data = try record(dir, binary, mode: ["-g"], ember: true)
        let r = try Tool.ember(["annotate", "-i", data])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("has no debug info"), r.stderr)
        XCTAssertGreaterThan(instructionRows(r.stdout).count, 10, r.stdout)
        XCTAssertEqual(instructionRows(r.stdout).values.reduce(0, +), 100, accuracy: 0.5)
        let s = try Tool.ember(["annotate", "-i", data, "--source-only"])
        XCTAssertEqual(s.status, 1)
        XCTAssertTrue(s.stderr.contains("no debug info") && s.stderr.contains("leave out --source-only"), s.stderr)
        let missing = try Tool.ember(["annotate", "-i", data, "no_such_function"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("the hottest functions are: hot_function"), missing.stderr)

        // Stripped of its symbols too (as Debian's gzip is): the function found by its call-frame information,
        // where nm on the unstripped binary puts hot_function; perf annotate has nothing to show for it.
        let nm = try Tool.run("/usr/bin/nm", [binary])
        guard let start = nm.stdout.split(separator: "\n").first(where: { $0.hasSuffix(" hot_function") })?.split(separator: " ").first,
              let address = UInt64(start, radix: 16) else { return XCTFail(nm.stdout) }
        XCTAssertEqual(try Tool.run("/usr/bin/strip", ["--strip-all", binary]).status, 0)
        let strippedData = try record(dir, binary, mode: ["--call-graph", "fp"], ember: true)
        let stripped = try Tool.ember(["annotate", "-i", strippedData])
        XCTAssertEqual(stripped.status, 0, stripped.stderr)
        XCTAssertTrue(stripped.stdout.contains("   [hotline+0x\(String(address, radix: 16))]: "), stripped.stdout)
        XCTAssertEqual(instructionRows(stripped.stdout).values.reduce(0, +), 100, accuracy: 0.5)
    }

    /// Real software: python3 running a json loop, its hottest function (in libpython or libc) against perf annotate.
    func testPythonAgainstPerf() throws {
        try requireRoot()
        try requirePerf()
        let dir = try Tool.scratchDirectory()
        let script = dir + "/loop.py"
        try "import json\nd = {'a': [1, 2, {'b': 'x' * 50}], 'c': list(range(100))}\nfor i in range(40000): json.loads(json.dumps(d))\n"
            .write(toFile: script, atomically: true, encoding: .utf8)
        let data = dir + "/py.data"
        let rec = try Tool.perf(["record", "-q", "-F", Tool.rate(999), "-g", "-o", data, "--", "/usr/bin/python3", script])
        XCTAssertEqual(rec.status, 0, rec.stderr)
        // The hottest function perf can name (code no symbol names, which Ember annotates by its CFI, perf cannot).
        let report = try Tool.perf(["report", "-i", data, "--no-children", "--stdio", "--sort", "sym"])
        guard let name = report.stdout.split(separator: "\n").first(where: { $0.contains("[.] ") && !$0.contains("[.] 0x") })?
            .components(separatedBy: "[.] ").last?.trimmingCharacters(in: .whitespaces) else { return XCTFail(report.stdout) }
        let ours = try Tool.ember(["annotate", "-i", data, "--asm-only", name])
        XCTAssertEqual(ours.status, 0, ours.stderr)
        let theirs = try Tool.perf(["annotate", "-i", data, "--stdio", name])
        XCTAssertEqual(theirs.status, 0, theirs.stderr)
        let perfRows = instructionRows(theirs.stdout), emberRows = instructionRows(ours.stdout)
        XCTAssertGreaterThan(perfRows.count, 5, theirs.stdout)
        for (address, percent) in perfRows.sorted(by: { $0.value > $1.value }).prefix(10) {
            XCTAssertEqual(emberRows[address] ?? -1, percent, accuracy: 1.0, "\(name) instruction \(address)")
        }
    }

    /// `--tui`: the annotation in a scrollable view opened on the hottest instruction; q quits, the terminal back.
    func testTUI() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let binary = try Tool.compileC(source: AnnotateTests.source, name: "hotline", flags: ["-O2", "-g"])
        let data = try record(dir, binary, mode: [], ember: true)
        let window = try TmuxWindow("\(Tool.emberPath) annotate -i \(data) hot_function --tui; echo $? > \(dir)/status; sleep 60")
        XCTAssertNotNil(window.wait(5) { $0.contains("q quits") && $0.contains("div") }, window.screen)
        try window.send("Home")
        XCTAssertNotNil(window.wait(2) { $0.hasPrefix(" Percent |") }, window.screen)
        try window.send("q")
        let quit = Date()
        while !FileManager.default.fileExists(atPath: dir + "/status"), Date().timeIntervalSince(quit) < 5 { Thread.sleep(forTimeInterval: 0.02) }
        Thread.sleep(forTimeInterval: 0.05)
        XCTAssertEqual(try String(contentsOfFile: dir + "/status", encoding: .utf8), "0\n")
        let piped = try Tool.ember(["annotate", "-i", data, "--tui"])
        XCTAssertEqual(piped.status, 1)
        XCTAssertTrue(piped.stderr.contains("--tui needs a terminal"), piped.stderr)
    }
}
