import Foundation
import XCTest

/// `-g` (`--call-graph fp`) puts back the callers a frame-pointer chain loses: the caller of a function that keeps no
/// frame pointer (libc's, the vDSO's) has its return address on the stack, not in a frame record. gdb is the oracle.
/// The registers and stack copies it needs are kept beside the samples, so that perf reads plain frame-pointer samples.
final class FramePointerRepairTests: XCTestCase {
    private func busyop() throws -> String {
        try Tool.compileC(source: Tool.packageRoot.appendingPathComponent("Tests/Programs/busyop.c").path, name: "busyop",
                          flags: ["-O2", "-g", "-fno-omit-frame-pointer"])
    }

    /// The share of the folded weight whose stack goes through `main;busy_op` (or ends in it: its own time).
    private func throughBusyOp(_ file: String) throws -> Double {
        let folded = parseFolded(try Tool.ember(["collapse", "-i", file]).stdout)
        let all = folded.values.reduce(0, +)
        XCTAssertGreaterThan(all, 0)
        return Double(folded.filter { $0.key.contains(";main;busy_op;") || $0.key.hasSuffix(";main;busy_op") }.values.reduce(0, +)) / Double(max(all, 1))
    }

    /// With -g nearly every sample goes through main;busy_op, as gdb's bt in clock_gettime shows; with fp,norepair
    /// the kernel's chain alone loses busy_op for most; the repair costs a fraction of DWARF's bytes.
    func testLeafCallersComeBackAsGdbShowsThem() throws {
        try requireRoot()
        let program = try busyop()
        let dir = try Tool.scratchDirectory()
        var bytesPerSample: [String: Double] = [:]
        var samples: [String: Int] = [:]
        for (name, mode) in [("repaired", ["-g"]), ("norepair", ["--call-graph", "fp,norepair"]), ("dwarf", ["--call-graph", "dwarf"])] {
            let file = "\(dir)/\(name).data"
            let r = try Tool.ember(["record", "-q"] + mode + ["-o", file, "--", program, "0.5"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stderr.contains(" 0 lost"), r.stderr)
            let count = Int(r.stderr.components(separatedBy: "ember record: ").last?.split(separator: " ").first ?? "") ?? 0
            samples[name] = count
            let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
            bytesPerSample[name] = Double(size) / Double(max(count, 1))
        }
        XCTAssertGreaterThanOrEqual(try throughBusyOp(dir + "/repaired.data"), 0.95)
        XCTAssertLessThan(try throughBusyOp(dir + "/norepair.data"), 0.5, "the kernel's chain alone loses busy_op")
        XCTAssertLessThanOrEqual(bytesPerSample["repaired"]!, bytesPerSample["dwarf"]! / 8, "\(bytesPerSample)")
        // report says how many were repaired.
        let report = try Tool.ember(["report", "-i", dir + "/repaired.data"]).stdout
        XCTAssertTrue(report.contains("# Frame-pointer stacks whose leaf's callers were put back from the stack copy: "), report)
        XCTAssertFalse(try Tool.ember(["report", "-i", dir + "/norepair.data"]).stdout.contains("put back"))
        // perf reads the repaired recording as plain frame-pointer samples: every sample, each with the kernel's chain
        // alone (no DWARF unwind of the copies appended: they are not in the samples).
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/perf") {
            let perf = try Tool.perf(["script", "-F", "ip,sym", "-i", dir + "/repaired.data"])
            XCTAssertEqual(perf.status, 0, perf.stderr)
            let stacks = perf.stdout.components(separatedBy: "\n\n").filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
            XCTAssertEqual(stacks.count, samples["repaired"], "perf script reads every sample")
            let repeated = stacks.filter { stack in
                let frames = stack.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                return frames.count > 1 && frames.last == frames.first
            }
            XCTAssertEqual(repeated.count, 0, "perf appended an unwind of its own: \(repeated.prefix(2))")
        }

        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/gdb"), "gdb is not installed (make deps installs it)")
        // Stopped in clock_gettime as busy_op calls it (a breakpoint there from the start stops first in main's own).
        let gdb = try Tool.run("/usr/bin/gdb", ["-q", "-batch", "-ex", "break busy_op", "-ex", "run", "-ex", "break clock_gettime",
                                                "-ex", "continue", "-ex", "bt", "--args", program, "0.1"])
        let frames = gdb.stdout.split(separator: "\n").filter { $0.hasPrefix("#") }.compactMap { line in
            line.split(separator: " ").first { $0 == "busy_op" || $0 == "main" }.map(String.init)
        }
        XCTAssertEqual(frames, ["busy_op", "main"], gdb.stdout)
    }

    /// A disk that fills: the copies wait beside the output and are the first thing given up; the file keeps its
    /// samples, which read unrepaired, and the recording says how many.
    func testFullDiskKeepsTheSamplesAndSaysTheCopiesAreGone() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory() + "/small"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try XCTSkipUnless(Tool.run("/bin/mount", ["-t", "tmpfs", "-o", "size=400k", "tmpfs", dir]).status == 0, "cannot mount a tmpfs")
        defer { _ = try? Tool.run("/bin/umount", [dir]) }
        let r = try Tool.ember(["record", "-g", "-o", dir + "/x.data", "--", try Tool.demo(), "0.5"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertNotNil(r.stderr.range(of: #"ember: \d+ samples of .*x\.data were written without their leaf-repair copies"#, options: .regularExpression), r.stderr)
        let folded = parseFolded(try Tool.ember(["collapse", "-i", dir + "/x.data"]).stdout)
        XCTAssertGreaterThan(folded.filter { $0.key.contains("main;run_round;spin_primes") }.count, 0, "the samples stand")
    }
}
