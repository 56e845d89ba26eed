import Foundation
import XCTest

/// `--call-graph fp,repair` puts back the callers a frame-pointer chain loses: the caller of a function that keeps no
/// frame pointer (libc's, the vDSO's) has its return address on the stack, not in a frame record. gdb is the oracle.
final class FramePointerRepairTests: XCTestCase {
    private func busyop() throws -> String {
        try Tool.compileC(source: Tool.packageRoot.appendingPathComponent("Tests/Programs/busyop.c").path, name: "busyop",
                          flags: ["-O2", "-g", "-fno-omit-frame-pointer"])
    }

    /// The share of the folded weight whose stack goes through `main;busy_op;`.
    private func throughBusyOp(_ file: String) throws -> Double {
        let folded = parseFolded(try Tool.ember(["collapse", "-i", file]).stdout)
        let all = folded.values.reduce(0, +)
        XCTAssertGreaterThan(all, 0)
        return Double(folded.filter { $0.key.contains(";main;busy_op;") }.values.reduce(0, +)) / Double(max(all, 1))
    }

    /// With fp,repair nearly every sample goes through main;busy_op, as gdb's bt in clock_gettime shows; with -g the
    /// kernel's chain alone loses busy_op for most; the repair costs a fraction of DWARF's bytes.
    func testLeafCallersComeBackAsGdbShowsThem() throws {
        try requireRoot()
        let program = try busyop()
        let dir = try Tool.scratchDirectory()
        var bytesPerSample: [String: Double] = [:]
        for (name, mode) in [("repaired", ["--call-graph", "fp,repair"]), ("norepair", ["-g"]), ("dwarf", ["--call-graph", "dwarf"])] {
            let file = "\(dir)/\(name).data"
            let r = try Tool.ember(["record", "-q"] + mode + ["-o", file, "--", program, "0.5"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stderr.contains(" 0 lost"), r.stderr)
            let samples = Double(r.stderr.components(separatedBy: "ember record: ").last?.split(separator: " ").first ?? "") ?? 0
            let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
            bytesPerSample[name] = Double(size) / max(samples, 1)
        }
        XCTAssertGreaterThanOrEqual(try throughBusyOp(dir + "/repaired.data"), 0.95)
        XCTAssertLessThan(try throughBusyOp(dir + "/norepair.data"), 0.5, "the kernel's chain alone loses busy_op")
        XCTAssertLessThanOrEqual(bytesPerSample["repaired"]!, bytesPerSample["dwarf"]! / 8, "\(bytesPerSample)")
        // report says how many were repaired.
        let report = try Tool.ember(["report", "-i", dir + "/repaired.data"]).stdout
        XCTAssertTrue(report.contains("# Frame-pointer stacks whose leaf's callers were put back from the stack copy: "), report)
        XCTAssertFalse(try Tool.ember(["report", "-i", dir + "/norepair.data"]).stdout.contains("put back"))

        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/gdb"), "gdb is not installed (make deps installs it)")
        // Stopped in clock_gettime as busy_op calls it (a breakpoint there from the start stops first in main's own).
        let gdb = try Tool.run("/usr/bin/gdb", ["-q", "-batch", "-ex", "break busy_op", "-ex", "run", "-ex", "break clock_gettime",
                                                "-ex", "continue", "-ex", "bt", "--args", program, "0.1"])
        let frames = gdb.stdout.split(separator: "\n").filter { $0.hasPrefix("#") }.compactMap { line in
            line.split(separator: " ").first { $0 == "busy_op" || $0 == "main" }.map(String.init)
        }
        XCTAssertEqual(frames, ["busy_op", "main"], gdb.stdout)
    }
}
