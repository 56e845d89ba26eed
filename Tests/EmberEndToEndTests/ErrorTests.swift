import Foundation
import XCTest

/// Every bad input gets one clear line naming what to do, a non-zero status, and loses nothing recorded.
final class ErrorTests: XCTestCase {
    private func assertOneLineError(_ r: Tool.Result, status: Int32, mentions: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, status, r.stderr, file: file, line: line)
        let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("ember: error:") }
        XCTAssertEqual(lines.count, 1, r.stderr, file: file, line: line)
        for m in mentions { XCTAssertTrue(r.stderr.contains(m), "\(m) not in: \(r.stderr)", file: file, line: line) }
    }

    func testFrequencyAboveTheSysctl() throws {
        let max = try String(contentsOfFile: "/proc/sys/kernel/perf_event_max_sample_rate", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let dir = try Tool.scratchDirectory()
        let r = try Tool.ember(["record", "-F", "\(Int(max)! + 1)", "-o", dir + "/x.data", "--", "/bin/true"])
        assertOneLineError(r, status: 1, mentions: ["kernel.perf_event_max_sample_rate", "(\(max))"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x.data"), "nothing written for a rejected recording")
    }

    func testCommandNotExecutableExits126() throws {
        let dir = try Tool.scratchDirectory()
        let script = dir + "/not-executable.sh"
        try "echo hi\n".write(toFile: script, atomically: true, encoding: .utf8)
        let r = try Tool.ember(["record", "-o", dir + "/x.data", "--", script])
        assertOneLineError(r, status: 126, mentions: ["cannot execute", script])
    }

    /// As an unprivileged user with the default paranoid level, system-wide profiling is refused with advice.
    func testNoPermissionNamesTheParanoidSysctl() throws {
        try requireRoot()
        let paranoid = try String(contentsOfFile: "/proc/sys/kernel/perf_event_paranoid", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try XCTSkipIf(Int(paranoid)! < 1, "perf_event_paranoid \(paranoid) lets every user profile all CPUs")
        let dir = try Tool.scratchDirectory()
        let r = try Tool.ember(["record", "-a", "--duration", "1", "-o", dir + "/x.data"], user: "65534", cwd: dir)
        assertOneLineError(r, status: 1, mentions: ["kernel.perf_event_paranoid is \(paranoid)", "sysctl kernel.perf_event_paranoid=-1"])
    }

    /// With tracefs unmounted, a user who may not mount it is told how, for the sched tracepoints `latency` needs.
    /// (Root's Ember mounts it itself; it is put back either way.)
    func testTracefsUnmountedSaysHowToMountIt() throws {
        try requireRoot()
        let tracefs = "/sys/kernel/tracing"
        let mounted = (try String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)).contains(" \(tracefs) tracefs ")
        if mounted { try XCTSkipIf(umount(tracefs) != 0, "tracefs is busy: \(String(cString: strerror(errno)))") }
        defer { if mounted { _ = mount("nodev", tracefs, "tracefs", 0, nil) } }
        let dir = try Tool.scratchDirectory()
        let r = try Tool.ember(["latency", "-o", dir + "/x.data", "--", "/bin/true"], user: "65534", cwd: dir)
        assertOneLineError(r, status: 1, mentions: ["tracefs is not mounted", "mount -t tracefs nodev \(tracefs)"])
    }

    /// Mounted with its default mode (0700), tracefs is there but closed to other users: they are told that, and
    /// how to open it, not that it is unmounted.
    func testTracefsReadableByRootOnlySaysSo() throws {
        try requireRoot()
        let tracefs = "/sys/kernel/tracing"
        if !(try String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)).contains(" \(tracefs) tracefs ") {
            XCTAssertEqual(mount("nodev", tracefs, "tracefs", 0, nil), 0)
        }
        var st = stat()
        XCTAssertEqual(stat(tracefs, &st), 0)
        try XCTSkipUnless(st.st_mode & 0o077 == 0, "tracefs here is open to others (mode \(String(st.st_mode & 0o777, radix: 8)))")
        let dir = try Tool.scratchDirectory()
        let r = try Tool.ember(["latency", "-o", dir + "/x.data", "--", "/bin/true"], user: "65534", cwd: dir)
        assertOneLineError(r, status: 1, mentions: ["readable by root only", "mount -o remount,mode=755 \(tracefs)"])
    }

    /// An unprivileged user asking for more locked ring memory than the sysctl allows is told about -m.
    func testMlockLimitNamesTheSysctlAndDashM() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let r = try Tool.ember(["record", "-m", "4096", "-o", dir + "/x.data", "--", "/bin/true"], user: "65534", cwd: dir)
        assertOneLineError(r, status: 1, mentions: ["kernel.perf_event_mlock_kb", "-m"])
    }

    func testInputThatIsNotPerfData() throws {
        let dir = try Tool.scratchDirectory()
        let file = dir + "/text.data"
        try "hello, this is not a recording\n".write(toFile: file, atomically: true, encoding: .utf8)
        for command in ["script", "collapse", "report"] {
            assertOneLineError(try Tool.ember([command, "-i", file]), status: 1, mentions: ["not a perf.data file"])
        }
        assertOneLineError(try Tool.ember(["script", "-i", dir + "/missing.data"]), status: 1, mentions: ["cannot open", "ember record"])
    }

    /// A file cut short reads up to the cut, with one warning.
    func testTruncatedFileIsReadWithOneWarning() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/full.data"
        // The kernel's chain alone (fp,norepair): the records are the file's bulk, so that half the file cuts them.
        XCTAssertEqual(try Tool.ember(["record", "--call-graph", "fp,norepair", "-q", "-o", file, "--", try Tool.demo(), "0.5"]).status, 0)
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        let cut = dir + "/cut.data"
        try data.prefix(data.count / 2 + 3).write(to: URL(fileURLWithPath: cut))
        let r = try Tool.ember(["collapse", "-i", cut, "--count"])
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stderr.components(separatedBy: "truncated").count - 1, 1, r.stderr)
        let whole = parseFolded(try Tool.ember(["collapse", "-i", file, "--count"]).stdout).values.reduce(0, +)
        let part = parseFolded(r.stdout).values.reduce(0, +)
        XCTAssertGreaterThan(part, whole / 4)
        XCTAssertLessThan(part, whole)
    }

    /// An existing recording is kept as FILE.old, never overwritten.
    func testExistingOutputBecomesOld() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/keep.data"
        try "previous".write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(try Tool.ember(["record", "-q", "-o", file, "--", "/bin/true"]).status, 0)
        XCTAssertEqual(try String(contentsOfFile: file + ".old", encoding: .utf8), "previous")
        let attributes = try FileManager.default.attributesOfItem(atPath: file)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
    }

    /// The command's exit status is ember record's.
    func testExitStatusIsTheCommands() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let r = try Tool.ember(["record", "-q", "-o", dir + "/x.data", "--", "/bin/sh", "-c", "exit 7"])
        XCTAssertEqual(r.status, 7, r.stderr)
    }
}
