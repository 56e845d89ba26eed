import Foundation
import XCTest

/// `ember top`: the terminal UI driven through tmux in an 80x24 window, and the text snapshots a pipe gets.
final class TopTests: XCTestCase {
    private func busyProgram() throws -> (binary: String, process: Process) {
        let binary = try Tool.compileC(source: Tool.packageRoot.appendingPathComponent("Tests/Programs/hotline.c").path, name: "hotline",
                                       flags: ["-O2", "-g", "-fno-omit-frame-pointer"])
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["30"]
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        addTeardownBlock { p.terminate(); p.waitUntilExit() }
        return (binary, p)
    }

    /// Standard output a pipe: `--stdio` snapshots, one a refresh, the busy function on top.
    func testSnapshotsOnAPipe() throws {
        try requireRoot()
        let (_, busy) = try busyProgram()
        let r = try Tool.ember(["top", "-p", "\(busy.processIdentifier)", "--duration", "2.6"], timeout: 30)
        XCTAssertEqual(r.status, 0, r.stderr)
        let snapshots = r.stdout.components(separatedBy: "EmberTop:").count - 1
        XCTAssertGreaterThanOrEqual(snapshots, 2, r.stdout)
        let last = r.stdout.components(separatedBy: "EmberTop:").last ?? ""
        let hot = last.split(separator: "\n").first { $0.hasSuffix("[.] hot_function") }.map(String.init) ?? ""
        XCTAssertGreaterThan(Double(hot.split(separator: "%")[0].trimmingCharacters(in: .whitespaces)) ?? 0, 50, r.stdout)
        let bad = try Tool.ember(["top", "-p", "\(busy.processIdentifier)", "-d", "0"], timeout: 30)
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("-d takes seconds between refreshes"), bad.stderr)
    }

    /// In tmux at 80x24: the busy function within 3 s, its callers, its annotation, the help, a filter, a resize,
    /// and q ending it within a second with the terminal's settings as they were.
    func testTerminalUI() throws {
        try requireRoot()
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux"), "needs tmux (make deps installs it)")
        let (_, busy) = try busyProgram()
        let dir = try Tool.scratchDirectory()
        let session = "embertop\(getpid())"
        func tmux(_ arguments: [String]) throws -> String {
            let r = try Tool.run("/usr/bin/tmux", ["-L", session] + arguments, timeout: 30)
            XCTAssertEqual(r.status, 0, "tmux \(arguments): \(r.stderr)")
            return r.stdout
        }
        func screen() -> String { (try? tmux(["capture-pane", "-p", "-t", session])) ?? "" }
        /// Polls the screen until `condition` holds (nil after `seconds`); returns the seconds it took.
        func wait(_ seconds: Double, _ condition: (String) -> Bool) throws -> Double? {
            let start = Date()
            while Date().timeIntervalSince(start) < seconds {
                if condition(screen()) { return Date().timeIntervalSince(start) }
                Thread.sleep(forTimeInterval: 0.05)
            }
            return nil
        }
        let script = """
            stty -g > \(dir)/before; \(Tool.emberPath) top -p \(busy.processIdentifier) -g; echo $? > \(dir)/status; \
            stty -g > \(dir)/after; sleep 60
            """
        // The server tmux starts keeps every descriptor its client had, and the test's child-process bookkeeping
        // waits for the last holder of its own: python's subprocess starts tmux with the first three alone.
        let spawn = "import subprocess, sys; d = subprocess.DEVNULL; sys.exit(subprocess.run(sys.argv[1:], stdin=d, stdout=d, stderr=d).returncode)"
        let started = try Tool.run("/usr/bin/python3", ["-c", spawn, "/usr/bin/tmux", "-L", session, "new-session", "-d", "-s", session,
                                                        "-x", "80", "-y", "24", script])
        XCTAssertEqual(started.status, 0, started.stderr)
        defer { _ = try? Tool.run("/usr/bin/tmux", ["-L", session, "kill-server"]) }
        let shown = try wait(5) { $0.contains("[.] hot_function") }
        XCTAssertNotNil(shown, screen())
        XCTAssertLessThanOrEqual(shown ?? 99, 3, "the busy function shows within 3 s")
        let first = screen()
        XCTAssertTrue(first.hasPrefix("   EmberTop:"), first)
        XCTAssertTrue(first.split(separator: "\n").allSatisfy { $0.count <= 80 }, first)

        _ = try tmux(["send-keys", "-t", session, "Right"])
        XCTAssertNotNil(try wait(2) { $0.contains("%  main") }, screen())
        _ = try tmux(["send-keys", "-t", session, "Enter"])
        XCTAssertNotNil(try wait(3) { $0.contains("div") && $0.contains("q or Left goes back") }, screen())
        _ = try tmux(["send-keys", "-t", session, "q"])
        XCTAssertNotNil(try wait(2) { $0.contains("Overhead") }, screen())
        _ = try tmux(["send-keys", "-t", session, "?"])
        XCTAssertNotNil(try wait(2) { $0.contains("Keys:") }, screen())
        _ = try tmux(["send-keys", "-t", session, "x", "/", "m", "i", "x", "Enter"])
        XCTAssertNotNil(try wait(2) { $0.contains("[filter: mix]") && !$0.contains("hot_function") }, screen())
        _ = try tmux(["resize-window", "-t", session, "-x", "100", "-y", "30"])
        XCTAssertNotNil(try wait(3) { $0.split(separator: "\n").contains { $0.count == 100 && $0.allSatisfy { $0 == "-" } } }, screen())

        let quit = Date()
        _ = try tmux(["send-keys", "-t", session, "q"])
        while !FileManager.default.fileExists(atPath: dir + "/after"), Date().timeIntervalSince(quit) < 5 { Thread.sleep(forTimeInterval: 0.02) }
        XCTAssertLessThanOrEqual(Date().timeIntervalSince(quit), 1.0, "q ends it within a second")
        Thread.sleep(forTimeInterval: 0.1)
        XCTAssertEqual(try String(contentsOfFile: dir + "/status", encoding: .utf8), "0\n")
        XCTAssertEqual(try String(contentsOfFile: dir + "/after", encoding: .utf8), try String(contentsOfFile: dir + "/before", encoding: .utf8),
                       "the terminal's settings are put back")
    }
}
