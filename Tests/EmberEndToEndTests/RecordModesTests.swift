import Foundation
import XCTest

/// Events, targets and terminal behaviour of `ember record`, and perf's other recording modes read back.
final class RecordModesTests: XCTestCase {
    /// Where the machine has no hardware PMU, `cycles` falls back to cpu-clock with one note, as perf does.
    func testCyclesFallsBackToCpuClockWithoutAPMU() throws {
        try requireRoot()
        let probe = try Tool.perf(["stat", "-e", "cycles", "/bin/true"])
        try XCTSkipIf(probe.stderr.contains("cycles") && !probe.stderr.contains("not supported"), "this machine has a hardware PMU")
        let dir = try Tool.scratchDirectory()
        let r = try Tool.ember(["record", "-e", "cycles", "-q", "-o", dir + "/c.data", "--", try Tool.demo(), "0.2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr.components(separatedBy: "falling back to cpu-clock").count - 1, 1, r.stderr)
        XCTAssertTrue(try Tool.ember(["script", "-i", dir + "/c.data"]).stdout.contains(" cpu-clock: "))
    }

    /// Every CPU: kernel frames resolve through kallsyms, and other processes are seen too.
    func testAllCPUsResolvesKernelFrames() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        // dd beside the demo makes a syscall for every byte it copies (the demo's clock reads go through the vDSO,
        // which may leave no kernel frame in 0.5 s).
        let command = "\(try Tool.demo()) 0.5 & /bin/dd if=/dev/zero of=/dev/null bs=1 count=200000 2>/dev/null; wait"
        let r = try Tool.ember(["record", "-a", "-g", "-q", "-o", dir + "/a.data", "--", "/bin/sh", "-c", command])
        XCTAssertEqual(r.status, 0, r.stderr)
        let folded = try Tool.ember(["collapse", "-i", dir + "/a.data"]).stdout
        XCTAssertTrue(folded.split(separator: "\n").contains { $0.hasPrefix("dd;") && $0.contains("do_syscall_64") }, "dd's syscalls show kernel frames")
        XCTAssertTrue(folded.split(separator: "\n").contains { $0.hasPrefix("demo;") })
    }

    /// perf's `--call-graph dwarf` recordings (registers and stack copies in every sample) read without errors.
    func testReadsPerfDwarfRecordings() throws {
        try requireRoot()
        try requirePerf()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/dwarf.data"
        XCTAssertEqual(try Tool.perf(["record", "--call-graph", "dwarf", "-F", "999", "-o", file, "--", try Tool.demo(), "0.5"]).status, 0)
        let collapse = try Tool.ember(["collapse", "-i", file, "--count"])
        XCTAssertEqual(collapse.status, 0, collapse.stderr)
        XCTAssertFalse(collapse.stderr.contains("malformed") || collapse.stderr.contains("corrupt"), collapse.stderr)
        let perfSamples = try Tool.perf(["script", "-i", file, "-F", "comm"]).stdout.split(separator: "\n").count
        XCTAssertEqual(parseFolded(collapse.stdout).values.reduce(0, +), UInt64(perfSamples))
        XCTAssertTrue(collapse.stdout.contains("spin_primes"))
    }

    /// A progress line appears on a terminal and nowhere else; with a command, whose output goes to the same
    /// terminal and would mix with it, only on `--progress`.
    func testProgressLineOnlyOnATerminal() throws {
        try requireRoot()
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "needs util-linux script for a pseudo-terminal")
        let dir = try Tool.scratchDirectory()
        let command = "\(Tool.emberPath) record -o \(dir)/t.data -- \(try Tool.demo()) 1.5"
        let plain = try Tool.run("/usr/bin/script", ["-qfec", command, "/dev/null"])
        XCTAssertEqual(plain.status, 0, plain.stdout)
        XCTAssertFalse(plain.stdout.contains("[ ember record:"), plain.stdout)
        let tty = try Tool.run("/usr/bin/script", ["-qfec", command.replacingOccurrences(of: " record ", with: " record --progress "), "/dev/null"])
        XCTAssertEqual(tty.status, 0, tty.stdout)
        XCTAssertTrue(tty.stdout.contains("\u{1b}]2;[ ember record: 1 s, "), "--progress with a command: in the title \(tty.stdout)")
        XCTAssertFalse(tty.stdout.contains("\r[ ember record:"), tty.stdout)
        // A command that writes partial lines and carriage returns on the terminal, under -a: its text stays whole.
        let chatty = "printf 'partial'; sleep 1.3; printf ' done\\n'; printf 'a\\rb'; sleep 1.1; printf 'c\\n'"
        for flags in ["-a", "-a --progress"] {
            let shared = try Tool.run("/usr/bin/script", ["-qfec", "\(Tool.emberPath) record \(flags) -o \(dir)/c.data -- /bin/sh -c \"\(chatty)\"", "/dev/null"])
            XCTAssertEqual(shared.status, 0, shared.stdout)
            let text = shared.stdout.replacingOccurrences(of: "\u{1b}\\]2;[^\u{07}]*\u{07}|\u{1b}\\[2[23];2t", with: "", options: .regularExpression)
            XCTAssertTrue(text.contains("partial done\r\na\rbc\r\n"), "\(flags): \(shared.stdout.debugDescription)")
            XCTAssertFalse(shared.stdout.contains("\r[ ember record:"), flags)
        }
        let system = try Tool.run("/usr/bin/script", ["-qfec", "\(Tool.emberPath) record -a --duration 1.5 -o \(dir)/a.data", "/dev/null"])
        XCTAssertTrue(system.stdout.contains("\r[ ember record: 1 s, "), "-a shows it: \(system.stdout)")
        let piped = try Tool.ember(["record", "-o", dir + "/p.data", "--", try Tool.demo(), "1.5"])
        XCTAssertFalse(piped.stderr.contains("\r"), "no progress line when stderr is not a terminal")
        let quietTTY = try Tool.run("/usr/bin/script", ["-qfec", "\(Tool.emberPath) record -q -o \(dir)/q.data -- \(try Tool.demo()) 1.5", "/dev/null"])
        XCTAssertFalse(quietTTY.stdout.contains("[ ember record:"), "-q silences the progress line")
    }
}
