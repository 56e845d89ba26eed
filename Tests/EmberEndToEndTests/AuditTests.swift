import Foundation
import XCTest

/// The defects an outside audit found, each run as the audit ran it: files Ember must never remove, inputs that
/// crashed it or made it read without bound, and messages that said the wrong thing.
final class AuditTests: XCTestCase {
    /// A flight-recorder snapshot that fails on a full disk removes nothing of the user's: files named as the
    /// snapshots of the coming second would be, made beforehand, all stay with their contents.
    func testFailedSnapshotRemovesNoFileOfTheUsers() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        try XCTSkipUnless(Tool.run("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]).status == 0, "cannot mount a tmpfs")
        defer { _ = try? Tool.run("/bin/umount", [dir]) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Tool.emberPath)
        p.arguments = ["record", "--overwrite", "-a", "-g", "-m", "16", "-o", dir + "/snap", "--no-final-snapshot", "--duration", "4"]
        p.standardOutput = FileHandle.nullDevice
        let errPipe = Pipe()
        p.standardError = errPipe
        try p.run()
        Thread.sleep(forTimeInterval: 1)
        // The user's files for each hundredth of the next second, then the disk filled, then SIGUSR2 in that second.
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMddHHmmss"
        let next = Date().addingTimeInterval(1)
        let second = formatter.string(from: next)
        var mine: [String] = []
        for centi in 0..<100 {
            let path = "\(dir)/snap.\(second)\(centi < 10 ? "0" : "")\(centi)"
            if FileManager.default.createFile(atPath: path, contents: Data("mine".utf8)) { mine.append(path) }
        }
        XCTAssertEqual(mine.count, 100)
        _ = try Tool.run("/bin/dd", ["if=/dev/zero", "of=\(dir)/filler", "bs=4k"])
        let start = floor(next.timeIntervalSince1970)
        Thread.sleep(forTimeInterval: max(0, start - Date().timeIntervalSince1970) + 0.3)
        kill(p.processIdentifier, SIGUSR2)
        p.waitUntilExit()
        let stderr = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        for path in mine {
            XCTAssertEqual(try? String(contentsOfFile: path, encoding: .utf8), "mine", "\(path) is the user's: \(stderr)")
        }
        XCTAssertTrue(stderr.contains("was not written"), "the snapshot met a full disk: \(stderr)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".ember-") }
        XCTAssertEqual(leftovers, [], "no temporary file is left")
    }

    /// An empty event list is refused in one line, leaving no file.
    func testEmptyEventListIsRefused() throws {
        let dir = try Tool.scratchDirectory()
        for arguments in [["record", "-e", "", "-o", dir + "/e.data", "--", "/bin/true"], ["stat", "-e", "", "--", "/bin/true"],
                          ["record", "-e", ",", "-o", dir + "/e.data", "--", "/bin/true"]] {
            let r = try Tool.ember(arguments)
            XCTAssertEqual(r.status, 1, "\(arguments): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.hasPrefix("ember: error: "), r.stderr)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }

    /// `-i -` and `--folded -` look at what arrives before holding more: /dev/zero is refused at once.
    func testEndlessInputIsRefusedAtOnce() throws {
        for arguments in [["script", "-i", "-"], ["collapse", "-i", "-"], ["flamegraph", "--folded", "-", "-o", "-"]] {
            let started = Date()
            let r = try Tool.ember(arguments, stdin: "/dev/zero", timeout: 30)
            XCTAssertEqual(r.status, 1, "\(arguments): \(r.stderr)")
            XCTAssertLessThan(Date().timeIntervalSince(started), 10, "\(arguments) read on")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }
    }

    /// Messages the audit found unclear, now saying what is wrong and what to do.
    func testUnclearMessages() throws {
        let dir = try Tool.scratchDirectory()
        let empty = try Tool.ember(["record", "-o", "", "--", "/bin/true"])
        XCTAssertEqual(empty.status, 1)
        XCTAssertTrue(empty.stderr.contains("the output name is empty"), empty.stderr)
        let history = try Tool.ember(["record", "--overwrite", "--history", "-1", "-o", dir + "/h.data", "--", "/bin/true"])
        XCTAssertNotEqual(history.status, 0)
        XCTAssertTrue(history.stderr.contains("--history must be more than 0 seconds (got -1"), history.stderr)
        let interval = try Tool.ember(["record", "--overwrite", "--switch-output-event", "sched:sched_switch", "--snapshot-min-interval", "-2",
                                       "-o", dir + "/i.data", "--", "/bin/true"])
        XCTAssertNotEqual(interval.status, 0)
        XCTAssertTrue(interval.stderr.contains("--snapshot-min-interval must be 0 or more seconds (got -2"), interval.stderr)
        let folder = try Tool.ember(["flamegraph", "--folded", dir, "-o", dir + "/f.svg"])
        XCTAssertEqual(folder.status, 1)
        XCTAssertTrue(folder.stderr.contains("is a directory"), folder.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/f.svg"))
        FileManager.default.createFile(atPath: dir + "/nothing.folded", contents: Data("not a stack\n".utf8))
        let nothing = try Tool.ember(["flamegraph", "--folded", dir + "/nothing.folded", "-o", dir + "/n.svg"])
        XCTAssertEqual(nothing.status, 1, nothing.stderr)
        XCTAssertTrue(nothing.stderr.contains("no folded stacks"), nothing.stderr)
    }
}
