import EmberKernel
@testable import EmberPerfData
import Foundation
import XCTest

/// Parts of samples kept beside them (`SampleSideData`): written out of the samples by PerfDataWriter, into the
/// last feature section, and put back by the reader.
final class SampleSideDataTests: XCTestCase {
    func testUserPartsGoBesideTheSamplesAndComeBack() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("side-\(UUID()).data").path
        defer { unlink(path); unlink(path + ".old") }
        // As the kernel writes them: the ring's samples carry REGS_USER (ip, sp, bp) and STACK_USER (16 bytes).
        var ring = EventAttr(type: .software)
        ring.sampleType = [.identifier, .ip, .tid, .time, .period, .callchain, .regsUser, .stackUser]
        ring.sampleRegsUser = 1 << 6 | 1 << 7 | 1 << 8
        ring.sampleStackUser = 16
        var described = ring
        described.sampleType.subtract([.regsUser, .stackUser])
        described.sampleRegsUser = 0
        described.sampleStackUser = 0
        let writer = try PerfDataWriter(path: path)
        try writer.begin(events: [.init(attr: described, ids: [5], name: "cpu-clock")])
        var records: [[UInt8]] = []
        for i in 0..<3 {
            var w = ByteWriter()
            w.u32(9); w.u16(2); w.u16(0)
            w.u64(5); w.u64(UInt64(0x1000 + i)); w.i32(1); w.i32(1); w.u64(UInt64(10 + i)); w.u64(1)
            w.u64(1); w.u64(UInt64(0x1000 + i))                      // callchain: one entry
            w.u64(2); w.u64(0x7ff8); w.u64(0x7ff0); w.u64(UInt64(0x1000 + i))  // ABI 64; bp, sp, ip (bit order)
            w.u64(16); w.u64(0xaaaa_0000 + UInt64(i)); w.u64(0xbbbb); w.u64(16)  // size, 16 bytes, dyn_size
            var bytes = w.bytes
            bytes[6] = UInt8(bytes.count & 0xff); bytes[7] = UInt8(bytes.count >> 8)
            records.append(bytes)
        }
        let layout = SampleLayout(attr: ring)
        for bytes in records {
            try bytes.withUnsafeBytes { raw in
                let parsed = try XCTUnwrap(Sample(record: raw, layout: layout))
                try writer.append(raw, movingToSide: try XCTUnwrap(parsed.userPart), regsMask: ring.sampleRegsUser)
            }
        }
        try writer.appendFinishedRound()
        try writer.finish(features: [(.eventDesc, writer.eventDescription())])

        let file = try PerfDataFile(path: path)
        XCTAssertEqual(file.warnings, [])
        XCTAssertTrue(file.hasSideData)
        var seen = 0
        file.forEachRecord { r in
            guard r.type == .sample else { return }
            XCTAssertEqual(r.bytes.count, 64, "the sample without its user parts")
            var sample = Sample()
            XCTAssertTrue(sample.load(record: r.bytes, layout: file.events[0].layout))
            XCTAssertTrue(sample.userStack.isEmpty)
            guard let side = file.sideBlock(of: r.bytes) else { return XCTFail("no side block for sample \(seen)") }
            XCTAssertTrue(sample.loadSideBlock(side.block, regsMask: side.regsMask))
            XCTAssertEqual(sample.userRegister(perfBit: 8), sample.ip, "the ip register is the sample's own")
            XCTAssertEqual(sample.userRegister(perfBit: 7), 0x7ff0)
            XCTAssertEqual(sample.userStack.count, 16)
            XCTAssertEqual(sample.userStack.loadUnaligned(as: UInt64.self), 0xaaaa_0000 + sample.ip - 0x1000)
            seen += 1
        }
        XCTAssertEqual(seen, 3)
    }

    /// A section of another magic or version is not Ember's: no blocks, nothing misread; a kind not known is
    /// skipped.
    func testForeignSectionIsIgnored() {
        var w = ByteWriter()
        w.u64(0x1234); w.u32(1); w.u32(0); w.u64(0); w.u64(1)
        XCTAssertNil(w.bytes.withUnsafeBytes { SampleSideData.index($0, sectionStart: 0) })
        var v2 = ByteWriter()
        v2.u64(SampleSideData.magic); v2.u32(2); v2.u32(0); v2.u64(0); v2.u64(0)
        XCTAssertNil(v2.bytes.withUnsafeBytes { SampleSideData.index($0, sectionStart: 0) })
        var later = ByteWriter()
        later.raw(SampleSideData.header(regsMask: 1, entries: 2))
        later.u32(9); later.u32(0); later.u64(100); later.u64(8); later.u64(0)
        later.u32(1); later.u32(0); later.u64(200); later.u64(8); later.u64(0)
        XCTAssertEqual(later.bytes.withUnsafeBytes { SampleSideData.index($0, sectionStart: 0) }?.blocks.keys.sorted(), [200])
        // An entry whose length runs past the section ends the reading.
        var short = ByteWriter()
        short.raw(SampleSideData.header(regsMask: 1, entries: 1))
        short.u32(1); short.u32(0); short.u64(100); short.u64(64); short.u64(0)
        XCTAssertEqual(short.bytes.withUnsafeBytes { SampleSideData.index($0, sectionStart: 0) }?.blocks.count, 0)
    }
}
