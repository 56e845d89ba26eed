@testable import EmberKernel
@testable import EmberPerfData
import Foundation
import XCTest

/// `OutputFile` removes only what it created, and a killed writer's file still names its events.
final class OutputFileTests: XCTestCase {
    private func scratch() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("outputfile-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    func testDiscardBeforePublishRemovesOnlyTheTemporaryFile() throws {
        let dir = try scratch()
        try "mine".write(toFile: dir + "/out", atomically: false, encoding: .utf8)
        let file = try OutputFile(path: dir + "/out", keepingOld: true)
        try file.write(Array("new".utf8))
        file.discard()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["out"])
        XCTAssertEqual(try String(contentsOfFile: dir + "/out", encoding: .utf8), "mine")
    }

    func testDiscardAfterPublishPutsOldBackButSparesAFileThatReplacedOurs() throws {
        let dir = try scratch()
        let path = dir + "/out"
        try "previous".write(toFile: path, atomically: false, encoding: .utf8)
        let file = try OutputFile(path: path, keepingOld: true)
        try file.publish(keepingOld: true)
        XCTAssertTrue(file.movedToOld)
        file.discard()
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "previous", "ours removed, .old moved back")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".old"))

        let second = try OutputFile(path: path, keepingOld: true)
        try second.publish(keepingOld: true)
        // Someone else's file now stands at the path: discarding must not remove it, nor move .old over it.
        unlink(path)
        try "theirs".write(toFile: path, atomically: false, encoding: .utf8)
        second.discard()
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "theirs")
        XCTAssertEqual(try String(contentsOfFile: path + ".old", encoding: .utf8), "previous")
    }

    func testReplaceRefusesWhatIsNotARegularFile() throws {
        let dir = try scratch()
        XCTAssertEqual(symlink(dir + "/target", dir + "/link"), 0)
        XCTAssertThrowsError(try OutputFile.replace(dir + "/link", with: [1])) { error in
            XCTAssertTrue("\(error)".contains("is a symbolic link"), "\(error)")
        }
        XCTAssertThrowsError(try OutputFile.replace(dir, with: [1]))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/target"))
        try OutputFile.replace(dir + "/plain", with: Array("x".utf8))
        XCTAssertEqual(try String(contentsOfFile: dir + "/plain", encoding: .utf8), "x")
    }

    /// A writer that never finishes (killed) leaves a header counting the flushed records and the event names in
    /// the block before the data.
    func testUnfinishedRecordingKeepsItsRecordsAndNames() throws {
        let dir = try scratch()
        let path = dir + "/killed.data"
        var attr = EventAttr(type: .software)
        attr.sampleType = [.identifier, .ip, .tid, .time, .period]
        attr.flags = [.sampleIDAll]
        let writer = try PerfDataWriter(path: path)
        try writer.begin(events: [.init(attr: attr, ids: [5], name: "uprobe:x:y")])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "not in place before its header counts records")
        var w = ByteWriter()
        w.u32(9); w.u16(2); w.u16(48)
        w.u64(5); w.u64(0x1000); w.i32(1); w.i32(1); w.u64(10); w.u64(1)
        try writer.append(w.bytes)
        try writer.flush()
        let file = try PerfDataFile(path: path)
        XCTAssertEqual(file.header.data.size, 48)
        XCTAssertEqual(file.events.map(\.name), ["uprobe:x:y"])
        XCTAssertTrue(file.warnings.contains { $0.contains("not finalized") }, "\(file.warnings)")
        var samples = 0
        file.forEachRecord { if $0.type == .sample { samples += 1 } }
        XCTAssertEqual(samples, 1)
    }
}
