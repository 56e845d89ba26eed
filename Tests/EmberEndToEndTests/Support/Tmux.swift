import Foundation
import XCTest

/// A tmux window of its own server, running one shell command, for tests of terminal UIs: its screen as text,
/// keys sent to it, resizes.
final class TmuxWindow {
    let name: String

    /// Starts `command` in a `columns` x `rows` window; skips the test without tmux.
    init(_ command: String, columns: Int = 80, rows: Int = 24) throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux"), "needs tmux (make deps installs it)")
        name = "ember\(getpid())x\(Int.random(in: 0..<1_000_000))"
        // The server tmux starts keeps every descriptor its client had, and the test's child-process bookkeeping
        // waits for the last holder of its own: python's subprocess starts tmux with the first three alone.
        let spawn = "import subprocess, sys; d = subprocess.DEVNULL; sys.exit(subprocess.run(sys.argv[1:], stdin=d, stdout=d, stderr=d).returncode)"
        let started = try Tool.run("/usr/bin/python3", ["-c", spawn, "/usr/bin/tmux", "-L", name, "new-session", "-d", "-s", name,
                                                        "-x", String(columns), "-y", String(rows), command])
        guard started.status == 0 else { throw XCTSkip("tmux could not start a session: \(started.stderr)") }
    }

    deinit { _ = try? Tool.run("/usr/bin/tmux", ["-L", name, "kill-server"]) }

    @discardableResult
    func tmux(_ arguments: [String]) throws -> String {
        let r = try Tool.run("/usr/bin/tmux", ["-L", name] + arguments, timeout: 30)
        XCTAssertEqual(r.status, 0, "tmux \(arguments): \(r.stderr)")
        return r.stdout
    }

    var screen: String { (try? tmux(["capture-pane", "-p", "-t", name])) ?? "" }

    func send(_ keys: String...) throws { try tmux(["send-keys", "-t", name] + keys) }

    func resize(columns: Int, rows: Int) throws { try tmux(["resize-window", "-t", name, "-x", String(columns), "-y", String(rows)]) }

    /// Polls the screen until `condition` holds; the seconds it took, or nil after `seconds`.
    func wait(_ seconds: Double, _ condition: (String) -> Bool) -> Double? {
        let start = Date()
        while Date().timeIntervalSince(start) < seconds {
            if condition(screen) { return Date().timeIntervalSince(start) }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return nil
    }
}
