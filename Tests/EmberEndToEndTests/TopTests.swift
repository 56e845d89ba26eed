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
        let dir = try Tool.scratchDirectory()
        let r = try Tool.ember(["top", "-p", "\(busy.processIdentifier)", "--duration", "2.6"], timeout: 30)
        XCTAssertEqual(r.status, 0, r.stderr)
        let snapshots = r.stdout.components(separatedBy: "EmberTop:").count - 1
        XCTAssertGreaterThanOrEqual(snapshots, 2, r.stdout)
        let last = r.stdout.components(separatedBy: "EmberTop:").last ?? ""
        let hot = last.split(separator: "\n").first { $0.hasSuffix("[.] hot_function") }.map(String.init) ?? ""
        XCTAssertGreaterThan(Double(hot.split(separator: "%")[0].trimmingCharacters(in: .whitespaces)) ?? 0, 50, r.stdout)
        // Every CPU, and a process that starts after top: its binary's symbols are read when its mappings come.
        let later = try Tool.compileC(source: Tool.packageRoot.appendingPathComponent("Tests/Programs/hotline.c").path, name: "later",
                                      flags: ["-O2", "-g"])
        FileManager.default.createFile(atPath: dir + "/top.txt", contents: nil)
        let top = Process()
        top.executableURL = URL(fileURLWithPath: Tool.emberPath)
        top.arguments = ["top", "-a", "--duration", "3.5"]
        top.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/top.txt"))
        top.standardError = FileHandle.nullDevice
        try top.run()
        Thread.sleep(forTimeInterval: 0.7)
        let late = Process()
        late.executableURL = URL(fileURLWithPath: later)
        late.arguments = ["2", "mixed"]
        late.standardOutput = FileHandle.nullDevice
        try late.run()
        top.waitUntilExit()
        late.waitUntilExit()
        let all = try String(contentsOfFile: dir + "/top.txt", encoding: .utf8)
        XCTAssertEqual(top.terminationStatus, 0, all)
        XCTAssertTrue(all.contains("later  ") && all.contains("[.] mixed"), all)

        let bad = try Tool.ember(["top", "-p", "\(busy.processIdentifier)", "-d", "0"], timeout: 30)
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("-d takes seconds between refreshes"), bad.stderr)
    }

    /// In tmux at 80x24: the busy function within 3 s, its callers, its annotation, the help, a filter, a resize,
    /// and q ending it within a second with the terminal's settings as they were.
    func testTerminalUI() throws {
        try requireRoot()
        let (_, busy) = try busyProgram()
        let dir = try Tool.scratchDirectory()
        let window = try TmuxWindow("""
            stty -g > \(dir)/before; \(Tool.emberPath) top -p \(busy.processIdentifier) -g; echo $? > \(dir)/status; \
            stty -g > \(dir)/after; sleep 60
            """)
        let shown = window.wait(5) { $0.contains("[.] hot_function") }
        XCTAssertNotNil(shown, window.screen)
        XCTAssertLessThanOrEqual(shown ?? 99, 3, "the busy function shows within 3 s")
        let first = window.screen
        XCTAssertTrue(first.hasPrefix("   EmberTop:"), first)
        XCTAssertTrue(first.split(separator: "\n").allSatisfy { $0.count <= 80 }, first)

        try window.send("Right")
        XCTAssertNotNil(window.wait(2) { $0.contains("%  main") }, window.screen)
        try window.send("Enter")
        XCTAssertNotNil(window.wait(3) { $0.contains("div") && $0.contains("q or Left goes back") }, window.screen)
        try window.send("q")
        XCTAssertNotNil(window.wait(2) { $0.contains("Overhead") }, window.screen)
        try window.send("?")
        XCTAssertNotNil(window.wait(2) { $0.contains("Keys:") }, window.screen)
        try window.send("x", "/", "m", "i", "x", "Enter")
        XCTAssertNotNil(window.wait(2) { $0.contains("[filter: mix]") && !$0.contains("hot_function") }, window.screen)
        try window.resize(columns: 100, rows: 30)
        XCTAssertNotNil(window.wait(3) { $0.split(separator: "\n").contains { $0.count == 100 && $0.allSatisfy { $0 == "-" } } }, window.screen)

        let quit = Date()
        try window.send("q")
        while !FileManager.default.fileExists(atPath: dir + "/after"), Date().timeIntervalSince(quit) < 5 { Thread.sleep(forTimeInterval: 0.02) }
        XCTAssertLessThanOrEqual(Date().timeIntervalSince(quit), 1.0, "q ends it within a second")
        Thread.sleep(forTimeInterval: 0.1)
        XCTAssertEqual(try String(contentsOfFile: dir + "/status", encoding: .utf8), "0\n")
        XCTAssertEqual(try String(contentsOfFile: dir + "/after", encoding: .utf8), try String(contentsOfFile: dir + "/before", encoding: .utf8),
                       "the terminal's settings are put back")
    }
}
