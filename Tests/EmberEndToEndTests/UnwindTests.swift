import Foundation
import XCTest

/// `--call-graph dwarf`: complete stacks for code without frame pointers, checked against perf.
final class UnwindTests: XCTestCase {
    private static let programs = Tool.packageRoot.appendingPathComponent("Tests/Programs").path
    private static let chain = ";main;level1;level2;level3;level4;level5;level6"

    private func chainBinary(_ extraFlags: [String] = []) throws -> String {
        try Tool.compileC(source: Self.programs + "/chain.c", name: "chain", flags: ["-O2", "-fomit-frame-pointer", "-g"] + extraFlags)
    }

    private func share(_ folded: [String: UInt64], leaf: String, containing: String) -> Double {
        let inLeaf = folded.filter { $0.key.hasSuffix(";" + leaf) }
        let total = inLeaf.values.reduce(0, +)
        return total == 0 ? 0 : Double(inLeaf.filter { $0.key.contains(containing) }.values.reduce(0, +)) / Double(total)
    }

    /// With DWARF unwinding at least 95% of the samples in level6 show the whole chain up to main; with frame
    /// pointers (the kernel's walk) they do not, and the recorder says so.
    func testDwarfRecoversTheChainFramePointersLose() throws {
        try requireRoot()
        let binary = try chainBinary()
        let dir = try Tool.scratchDirectory()
        let dwarf = try Tool.ember(["record", "--call-graph", "dwarf", "-q", "-o", dir + "/dwarf.data", "--", binary, "300"])
        XCTAssertEqual(dwarf.status, 0, dwarf.stderr)
        let unwound = parseFolded(try Tool.ember(["collapse", "--count", "-i", dir + "/dwarf.data"]).stdout)
        XCTAssertGreaterThan(unwound.filter { $0.key.hasSuffix(";level6") }.values.reduce(0, +), 200)
        XCTAssertGreaterThanOrEqual(share(unwound, leaf: "level6", containing: Self.chain), 0.95, "\(unwound)")

        let fp = try Tool.ember(["record", "-g", "-q", "-o", dir + "/fp.data", "--", binary, "300"])
        XCTAssertEqual(fp.status, 0)
        XCTAssertTrue(fp.stderr.contains("--call-graph dwarf"), "the recorder suggests DWARF unwinding: \(fp.stderr)")
        let walked = parseFolded(try Tool.ember(["collapse", "--count", "-i", dir + "/fp.data"]).stdout)
        XCTAssertLessThan(share(walked, leaf: "level6", containing: Self.chain), 0.5, "frame pointers cannot see this chain")
    }

    /// Ember's DWARF recording is valid perf.data: perf unwinds it too, to the same stacks for 95% of samples.
    func testPerfUnwindsEmbersRecordingToTheSameStacks() throws {
        try requireRoot()
        try requirePerf()
        let binary = try chainBinary()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/e.data"
        XCTAssertEqual(try Tool.ember(["record", "--call-graph", "dwarf", "-q", "-o", file, "--", binary, "200"]).status, 0)
        let perf = try Tool.perf(["script", "--no-inline", "-i", file])
        XCTAssertEqual(perf.status, 0, perf.stderr)
        let expected = PerfScriptFolder.fold(perf.stdout)
        let actual = parseFolded(try Tool.ember(["collapse", "--no-inline", "--symbol-versions", "-i", file]).stdout)
        let total = expected.values.reduce(0, +)
        let agreeing = expected.reduce(UInt64(0)) { $0 + min($1.value, actual[$1.key] ?? 0) }
        let worst = expected.filter { actual[$0.key] != $0.value }.sorted { $0.value > $1.value }.prefix(3)
        XCTAssertGreaterThanOrEqual(Double(agreeing) / Double(total), 0.95, "differing: \(worst.map { "\($0.key) \($0.value)" })\nember: \(actual.sorted { $0.value > $1.value }.prefix(3))")
    }

    /// perf's own `--call-graph dwarf` recordings unwind in Ember.
    func testUnwindsPerfsDwarfRecordings() throws {
        try requireRoot()
        try requirePerf()
        let binary = try chainBinary()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/p.data"
        XCTAssertEqual(try Tool.perf(["record", "--call-graph", "dwarf", "-o", file, "--", binary, "200"]).status, 0)
        let folded = parseFolded(try Tool.ember(["collapse", "--count", "-i", file]).stdout)
        XCTAssertGreaterThanOrEqual(share(folded, leaf: "level6", containing: Self.chain), 0.95)
    }

    /// Optimized Swift: at least 90% of samples reach main.
    func testSwiftStacksReachMain() throws {
        try requireRoot()
        let binary = try Tool.sorter()
        let file = try Tool.scratchDirectory() + "/s.data"
        XCTAssertEqual(try Tool.ember(["record", "--call-graph", "dwarf", "-q", "-o", file, "--", binary]).status, 0)
        let folded = parseFolded(try Tool.ember(["collapse", "--count", "-i", file]).stdout)
        let inCode = folded.filter { $0.key.contains("Sorter.") || $0.key.contains("Matrix.") }
        let reaching = inCode.filter { $0.key.contains(";main;") }.values.reduce(0, +)
        XCTAssertGreaterThanOrEqual(Double(reaching) / Double(max(1, inCode.values.reduce(0, +))), 0.9, "\(folded.sorted { $0.value > $1.value }.prefix(5))")
    }

    /// Code without any CFI: stacks stop at once, marked [truncated], not guessed.
    func testCodeWithoutCFIIsMarkedTruncated() throws {
        try requireRoot()
        let binary = try Tool.compileC(source: Self.programs + "/chain.c", name: "nocfi",
                                       flags: ["-O2", "-fomit-frame-pointer", "-fno-asynchronous-unwind-tables", "-fno-unwind-tables"])
        let dir = try Tool.scratchDirectory()
        let file = dir + "/n.data"
        XCTAssertEqual(try Tool.ember(["record", "--call-graph", "dwarf", "-q", "-o", file, "--", binary, "100"]).status, 0)
        let r = try Tool.ember(["collapse", "--count", "-i", file])
        XCTAssertEqual(r.status, 0)
        let folded = parseFolded(r.stdout)
        let inLevel6 = folded.filter { $0.key.hasSuffix(";level6") }
        XCTAssertGreaterThan(inLevel6.values.reduce(0, +), 50)
        XCTAssertTrue(inLevel6.keys.allSatisfy { $0.contains("[truncated]") }, "\(inLevel6)")
        XCTAssertTrue(r.stderr.contains("stop early"), r.stderr)
        // The larger copy suggested is twice the one recorded (the default 8192), not a fixed size.
        XCTAssertTrue(r.stderr.contains("--call-graph dwarf,16384"), r.stderr)
        let big = dir + "/big.data"
        XCTAssertEqual(try Tool.ember(["record", "--call-graph", "dwarf,32768", "-q", "-o", big, "--", binary, "100"]).status, 0)
        XCTAssertTrue(try Tool.ember(["collapse", "-i", big]).stderr.contains("--call-graph dwarf,65528"))
        // perf-compatible text marks the stop as perf does: an address of all ones it cannot name.
        let compat = try Tool.ember(["script", "--perf-compat", "-i", file]).stdout
        XCTAssertTrue(compat.contains("ffffffffffffffff [unknown] ([unknown])") && !compat.contains("[truncated]"), String(compat.prefix(2000)))
    }

    /// The count of samples `ember unwind-check` found identical, and of all it unwound.
    private func identical(_ file: String) throws -> (identical: Int, samples: Int, output: String) {
        let r = try Tool.ember(["unwind-check", "-i", file])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n")
        let samples = lines.first.flatMap { Int($0.split(separator: " ")[0]) } ?? 0
        let same = lines.first { $0.hasPrefix("  identical") }.flatMap { Int($0.split(separator: " ")[1]) } ?? -1
        return (same, samples, r.stdout)
    }

    /// libunwind, unwinding the same registers and stack bytes independently, walks at least 99% of the samples
    /// frame for frame as Ember does: on the chain fixture, optimized Swift, python3 and g++ compiling (which nobody
    /// here wrote), and the off-CPU stacks of a latency recording (blocked in a syscall); and `--unwinder libunwind`
    /// folds the chain whole.
    func testLibunwindConfirmsEmbersStacks() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let workloads = [[try chainBinary(), "200"], [try Tool.sorter()],
                         ["/usr/bin/python3", "-c", "import json\nfor _ in range(20000): json.dumps({'a': list(range(100))})"],
                         ["/usr/bin/g++", "-O2", "-g", "-c", Tool.packageRoot.appendingPathComponent("Tests/Programs/widget.cpp").path,
                          "-o", dir + "/widget.o"]]
        let sleeper = try Tool.compileC(source: Tool.packageRoot.appendingPathComponent("Tests/Programs/sleeper.c").path, name: "sleeper", flags: ["-O2", "-g"])
        for (i, command) in (workloads + [[sleeper, dir + "/naps.txt"]]).enumerated() {
            let file = dir + "/w\(i).data"
            // The last: off-CPU stacks, taken in the switch out of a syscall.
            let recorder = i < workloads.count ? ["record", "--call-graph", "dwarf", "-q"] : ["latency", "--offcpu", "--call-graph", "dwarf"]
            XCTAssertEqual(try Tool.ember(recorder + ["-o", file, "--"] + command).status, 0)
            let check = try identical(file)
            XCTAssertGreaterThan(check.samples, 50, check.output)
            XCTAssertGreaterThanOrEqual(Double(check.identical) / Double(check.samples), 0.99, "\(command[0]): \(check.output)")
            XCTAssertTrue(check.output.contains("samples/s, libunwind"), check.output)
            // A difference's time is the time script prints for its sample, so that it can be looked up there.
            if let example = check.output.components(separatedBy: "First differences").dropFirst().first?.split(separator: "\n").dropFirst().first,
               let time = example.split(separator: " ").first {
                XCTAssertTrue(try Tool.ember(["script", "-i", file]).stdout.contains(" \(time): "), "\(time) in script")
            }
        }
        let folded = parseFolded(try Tool.ember(["collapse", "--count", "--unwinder", "libunwind", "-i", dir + "/w0.data"]).stdout)
        XCTAssertGreaterThanOrEqual(share(folded, leaf: "level6", containing: Self.chain), 0.95, "\(folded)")
    }

    /// Without DWARF samples there is nothing to check: one line that says how to record them; a misspelt
    /// unwinder is named.
    func testUnwindCheckBadInput() throws {
        try requireRoot()
        let file = try Tool.scratchDirectory() + "/fp.data"
        XCTAssertEqual(try Tool.ember(["record", "-g", "-q", "-o", file, "--", try chainBinary(), "20"]).status, 0)
        let r = try Tool.ember(["unwind-check", "-i", file])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("--call-graph dwarf"), r.stderr)
        let bad = try Tool.ember(["collapse", "--unwinder", "libdw", "-i", "x.data"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("libunwind"), bad.stderr)
    }

    func testBadStackSizes() throws {
        for size in ["100", "0", "70000", "abc"] {
            let r = try Tool.ember(["record", "--call-graph", "dwarf,\(size)", "--", "/bin/true"])
            XCTAssertEqual(r.status, 1)
            XCTAssertTrue(r.stderr.contains("multiple of 8") && r.stderr.contains("65528"), r.stderr)
        }
    }

    /// Scribbled stack copies and registers: the unwinder stops (bounded), never crashes.
    func testCorruptStacksNeverCrash() throws {
        try requireRoot()
        let binary = try chainBinary()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/c.data"
        XCTAssertEqual(try Tool.ember(["record", "--call-graph", "dwarf,1024", "-q", "-o", file, "--", binary, "20"]).status, 0)
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        // A fixed-seed linear congruential generator, so that a failing corruption can be replayed.
        var state: UInt64 = 0xdead_beef
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33) % bound
        }
        for round in 0..<20 {
            var bytes = original
            for _ in 0..<(200 + round * 50) {
                bytes[1024 + next(bytes.count - 2048)] = UInt8(truncatingIfNeeded: next(256))
            }
            let mutated = dir + "/m.data"
            try Data(bytes).write(to: URL(fileURLWithPath: mutated))
            let r = try Tool.ember(["collapse", "-i", mutated])
            XCTAssertLessThan(r.status, 2, "round \(round): \(r.stderr)")
            // Both unwinders over the same scribbled bytes.
            let check = try Tool.ember(["unwind-check", "-i", mutated])
            XCTAssertLessThan(check.status, 2, "round \(round): \(check.stderr)")
        }
    }
}

