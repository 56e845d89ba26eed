import EmberKernel
import EmberPerfData
import EmberRender
import EmberReplay
import EmberStacks
import Foundation
import XCTest

/// Values a corrupt recording carries that used to trap (integer overflow, a conversion that does not fit): each
/// is now counted, clamped or refused. Every recording here is the fixture's with one thing changed.
final class CorruptValueTests: XCTestCase {
    private func recording(_ records: [[UInt8]], features: [(Feature, [UInt8])] = []) throws -> String {
        let path = RecordingFixture.temporaryPath()
        addTeardownBlock { unlink(path) }
        let a = RecordingFixture.attr()
        let writer = try PerfDataWriter(path: path)
        try writer.begin(events: [.init(attr: a, ids: [1], name: "first")])
        let enc = RecordEncoder(attr: a, id: 1)
        try writer.append(enc.comm(pid: 5, tid: 5, name: "prog"))
        for record in records { try writer.append(record) }
        try writer.appendFinishedRound()
        try writer.finish(features: [(.eventDesc, writer.eventDescription())] + features)
        return path
    }

    private func lost(_ count: UInt64) -> [UInt8] {
        var w = ByteWriter()
        w.u32(RecordType.lost.rawValue); w.u16(0); w.u16(0)
        w.u64(1); w.u64(count)
        w.i32(5); w.i32(5); w.u64(200); w.u32(0); w.u32(0); w.u64(1)
        w.patchU16(at: 6, UInt16(w.count))
        return w.bytes
    }

    /// Two LOST records of 2^63 each: the count stops at the largest value.
    func testLostCountsSaturate() throws {
        let replay = try Replay(path: try recording([lost(1 << 63), lost(1 << 63)]))
        replay.forEachSample(event: nil) { _, _ in }
        XCTAssertEqual(replay.lostRecords, .max)
    }

    /// Periods whose sum wraps (2^64 - 1 and 2): the report's total stops at the largest value, and no share
    /// overflows its conversion.
    func testReportOfPeriodsThatWrap() throws {
        let path = try recording([RecordingFixture.sample(id: 1, pid: 5, time: 100, chain: [CallchainContext.user, 0x400100], period: .max),
                                  RecordingFixture.sample(id: 1, pid: 5, time: 101, chain: [CallchainContext.user, 0x400200], period: 2)])
        let model = try ReportModel(try Replay(path: path), options: ReportOptions())
        XCTAssertEqual(model.totalWeight, .max)
        XCTAssertTrue(ReportWriter().render(model).contains("100.00%"))
    }

    /// A sample timed before the span the file notes (HEADER_SAMPLE_TIME): `script --summary` puts it at the edge.
    func testTimelineOfASampleOutsideTheNotedSpan() throws {
        var span = ByteWriter()
        span.u64(1000); span.u64(2000)
        let path = try recording([RecordingFixture.sample(id: 1, pid: 5, time: 10, chain: [CallchainContext.user, 0x400100]),
                                  RecordingFixture.sample(id: 1, pid: 5, time: 5000, chain: [CallchainContext.user, 0x400100])],
                                 features: [(.sampleTime, span.bytes)])
        XCTAssertTrue(TimelineWriter().render(try Replay(path: path)).contains("prog"))
    }

    /// Two attrs whose id arrays both span the whole file ask for more ids than the file holds: refused.
    func testOverlappingIDArraysAreRefused() throws {
        let path = RecordingFixture.temporaryPath()
        defer { unlink(path) }
        try RecordingFixture.write(to: path)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let entry = Int(bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 16, as: UInt64.self) })
        let attrs = Int(bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 24, as: UInt64.self) })
        for i in 0..<2 {
            let ids = attrs + (i + 1) * entry - 16
            bytes.withUnsafeMutableBytes {
                $0.storeBytes(of: UInt64(0), toByteOffset: ids, as: UInt64.self)
                $0.storeBytes(of: UInt64($0.count), toByteOffset: ids + 8, as: UInt64.self)
            }
        }
        XCTAssertThrowsError(try PerfDataFile(bytes: bytes, name: "overlapping")) { error in
            XCTAssertTrue("\(error)".contains("id arrays overlap"), "\(error)")
        }
    }

    /// A folded weight whose rounding would pass 2^64 - 1 is refused, not wrapped to 0.
    func testFoldedWeightThatRoundsPastTheLargest() {
        // Six decimals kept: 18446744073709.551615 is 2^64 - 1 millionths, and the seventh rounds it up.
        XCTAssertThrowsError(try FoldedProfile.parse(Substring("main;spin 18446744073709.5516155\n")))
    }
}
