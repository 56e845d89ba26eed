import Foundation
import XCTest

/// Deep DWARF stacks: a sample whose 8 KB copy is full has callers beyond it; the recorder keeps the rest of the
/// thread's stack (taken at sample time by a BPF program on a sampled event, read at each drain for a tracepoint)
/// and the readers unwind on there where it agrees with the copy. gdb's bt at the same point is the oracle.
final class StackTailTests: XCTestCase {
    private static let programs = Tool.packageRoot.appendingPathComponent("Tests/Programs").path

    private func deepBinary() throws -> String {
        try Tool.compileC(source: Self.programs + "/deep.c", name: "deep", flags: ["-O1", "-g"])
    }

    /// The recurse frames of the heaviest stack through spin, and the share of the samples through spin whose
    /// stack reaches main.
    private func spinStacks(_ folded: [String: UInt64]) -> (recursion: Int, reachingMain: Double) {
        let spin = folded.filter { $0.key.contains(";spin") }
        let total = spin.values.reduce(0, +)
        let reaching = spin.filter { $0.key.contains(";main;recurse;") }.values.reduce(0, +)
        let heaviest = spin.max { $0.value < $1.value }?.key ?? ""
        return (heaviest.split(separator: ";").filter { $0 == "recurse" }.count, total == 0 ? 0 : Double(reaching) / Double(total))
    }

    func testDeepStacksReachMainAsGdbShows() throws {
        try requireRoot()
        let program = try deepBinary()
        let file = try Tool.scratchDirectory() + "/deep.data"
        let record = try Tool.ember(["record", "--call-graph", "dwarf", "-o", file, "--", program, "200", "1.5"])
        XCTAssertEqual(record.status, 0, record.stderr)
        XCTAssertTrue(record.stderr.contains("tails taken at sample time"), record.stderr)

        let whole = spinStacks(parseFolded(try Tool.ember(["collapse", "--count", "-i", file]).stdout))
        XCTAssertGreaterThanOrEqual(whole.reachingMain, 0.95)
        let cut = spinStacks(parseFolded(try Tool.ember(["collapse", "--count", "--no-stack-tail", "-i", file]).stdout))
        XCTAssertLessThan(cut.reachingMain, 0.05, "the 8 KB copy alone cannot reach main")

        let report = try Tool.ember(["report", "--stdio", "-i", file]).stdout
        XCTAssertTrue(report.contains("to their root; 0 tails refused"), report)
        let script = try Tool.ember(["script", "-i", file]).stdout
        XCTAssertTrue(script.contains("recurse+0x") && script.contains(" (stack tail)"), String(script.prefix(2000)))

        // The oracle: gdb stopped in spin counts the same recursion under main.
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/gdb"), "gdb is not installed (make deps installs it)")
        let gdb = try Tool.run("/usr/bin/gdb", ["-q", "-batch", "-ex", "break spin", "-ex", "run", "-ex", "bt", "--args", program, "200", "0.1"])
        let frames = gdb.stdout.split(separator: "\n").filter { $0.hasPrefix("#") }
        XCTAssertTrue(frames.last?.contains(" main ") ?? false, gdb.stdout)
        XCTAssertEqual(whole.recursion, frames.filter { $0.contains(" recurse ") }.count, "Ember's deepest stack against gdb's bt")
    }

    /// Real software: the Swift compiler's stacks are deeper than the copy in nearly every sample; with tails at
    /// most 5% of them end truncated.
    func testSwiftCompilerStacksReachTheirRoot() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let record = try Tool.ember(["record", "--call-graph", "dwarf", "-q", "-o", dir + "/swiftc.data", "--",
                                     "/usr/bin/env", "swiftc", "-O", Self.programs + "/sorter.swift", "-o", dir + "/sorter"])
        XCTAssertEqual(record.status, 0, record.stderr)
        func truncatedShare(_ extra: [String]) throws -> Double {
            let folded = parseFolded(try Tool.ember(["collapse", "--count", "--comms", "swift-frontend", "-i", dir + "/swiftc.data"] + extra).stdout)
            let total = folded.values.reduce(0, +)
            XCTAssertGreaterThan(total, 100, "the compile is sampled")
            return Double(folded.filter { $0.key.contains("[truncated]") }.values.reduce(0, +)) / Double(max(total, 1))
        }
        XCTAssertGreaterThan(try truncatedShare(["--no-stack-tail"]), 0.5, "the 8 KB copy alone rarely reaches the root")
        XCTAssertLessThanOrEqual(try truncatedShare([]), 0.05)
    }

    /// A tracepoint's samples take no perf_event BPF program: their tails are read at each drain, and agree with
    /// the copies as long as the callers stay (here the whole recursion).
    func testTailsReadAtDrainTimeForATracepoint() throws {
        try requireRoot()
        let program = try deepBinary()
        let file = try Tool.scratchDirectory() + "/sys.data"
        let record = try Tool.ember(["record", "-e", "raw_syscalls:sys_enter", "--call-graph", "dwarf", "-o", file, "--", program, "200", "1", "syscalls"])
        XCTAssertEqual(record.status, 0, record.stderr)
        XCTAssertTrue(record.stderr.contains("reads of the rest of a thread's stack"), record.stderr)
        let stacks = spinStacks(parseFolded(try Tool.ember(["collapse", "--count", "-i", file]).stdout))
        XCTAssertGreaterThanOrEqual(stacks.reachingMain, 0.95)
        XCTAssertEqual(stacks.recursion, 201)
    }

    /// perf reads the recording (the tails sit in a section it does not read); --no-stack-tail records none.
    func testPerfReadsItAndTheTailsCanBeLeftOut() throws {
        try requireRoot()
        try requirePerf()
        let program = try deepBinary()
        let dir = try Tool.scratchDirectory()
        XCTAssertEqual(try Tool.ember(["record", "--call-graph", "dwarf", "-q", "-o", dir + "/t.data", "--", program, "200", "0.5"]).status, 0)
        let perf = try Tool.perf(["script", "-F", "comm,tid,ip", "-i", dir + "/t.data"])
        XCTAssertEqual(perf.status, 0, perf.stderr)
        let ember = try Tool.ember(["script", "-F", "comm,tid", "-i", dir + "/t.data"])
        XCTAssertEqual(perf.stdout.split(separator: "\n").filter { !$0.hasPrefix("\t") && !$0.isEmpty }.count,
                       ember.stdout.split(separator: "\n").filter { !$0.hasPrefix("\t") && !$0.isEmpty }.count)

        let plain = try Tool.ember(["record", "--call-graph", "dwarf", "--no-stack-tail", "-o", dir + "/n.data", "--", program, "200", "0.5"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertFalse(plain.stderr.contains("rest of a thread's stack"), plain.stderr)
        let report = try Tool.ember(["report", "--stdio", "-i", dir + "/n.data"]).stdout
        XCTAssertFalse(report.contains("continued past their copy"), report)
    }
}
