@testable import EmberKernel
@testable import EmberPerfData
import Foundation
import XCTest

/// Where files Ember writes appear, and what it removes: a snapshot only whole and never over a file already
/// there; leftovers of a writer that died collected, and nothing else.
final class PlacementTests: XCTestCase {
    private func scratch() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("placement-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    private func event() -> EventDescription {
        var attr = EventAttr(type: .software, config: 0)
        attr.sampleType = [.identifier, .ip, .tid, .time]
        return .init(attr: attr, ids: [1], name: "cpu-clock")
    }

    private func sample(time: UInt64) -> [UInt8] {
        var w = ByteWriter()
        w.u32(RecordType.sample.rawValue); w.u16(CPUMode.user.rawValue); w.u16(0)
        w.u64(1); w.u64(0x400000); w.i32(5); w.i32(5); w.u64(time)
        w.patchU16(at: 6, UInt16(w.count))
        return w.bytes
    }

    /// Flushed many times over, a snapshot still has no name until it is finished.
    func testSnapshotTakesItsNameOnlyWhenWhole() throws {
        let dir = try scratch()
        let path = dir + "/snap.1"
        let writer = try PerfDataWriter(path: path, placement: .newNameWhenFinished)
        try writer.begin(events: [event()])
        for i in 0..<50_000 { try writer.append(sample(time: UInt64(i))) }
        try writer.flush()
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "flushed, but not finished")
        try writer.finish(features: [(.eventDesc, writer.eventDescription())])
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
        XCTAssertEqual(try PerfDataFile(path: path).events.map(\.name), ["cpu-clock"])
    }

    /// A name taken meanwhile by someone else is never replaced; abandoning leaves their file and no temporary one.
    func testSnapshotNeverReplacesAFile() throws {
        let dir = try scratch()
        let path = dir + "/snap.2"
        let writer = try PerfDataWriter(path: path, placement: .newNameWhenFinished)
        try writer.begin(events: [event()])
        try writer.append(sample(time: 1))
        try "theirs".write(toFile: path, atomically: false, encoding: .utf8)
        XCTAssertThrowsError(try writer.finish(features: [])) { error in
            XCTAssertTrue("\(error)".contains("never replaces a file it did not name"), "\(error)")
        }
        writer.abandon()
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "theirs")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["snap.2"])
    }

    /// `--switch-max-files` deletes an old file only while it is still the one Ember wrote.
    func testRemovalByIdentitySparesAReplacedFile() throws {
        let dir = try scratch()
        let path = dir + "/old"
        let file = try OutputFile(path: path)
        try file.publish()
        let identity = file.identity
        try file.close()
        unlink(path)
        try "theirs".write(toFile: path, atomically: false, encoding: .utf8)
        OutputFile.remove(path, ifStill: identity)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "theirs")
    }

    /// A temporary file of a writer that died is removed when the next writer of that name starts; one of a live
    /// process, one of another name and one that only looks alike stay.
    func testLeftoversOfDeadWritersAreCollected() throws {
        let dir = try scratch()
        let dead = Process()
        dead.executableURL = URL(fileURLWithPath: "/bin/true")
        try dead.run()
        dead.waitUntilExit()
        let gone = dead.processIdentifier
        let names = [".out.data.ember-\(gone)-Ab12Cd", ".out.data.ember-\(getppid())-Ab12Cd", ".other.ember-\(gone)-Ab12Cd",
                     ".out.data.ember-\(gone)-toolong7", "out.data.ember-\(gone)-Ab12Cd"]
        for name in names { try "x".write(toFile: dir + "/" + name, atomically: false, encoding: .utf8) }
        let file = try OutputFile(path: dir + "/out.data")
        file.discard()
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir)), Set(names.dropFirst()))
    }
}
