@testable import EmberKernel
@testable import EmberPerfData
import Foundation
import XCTest

/// Parsers and the writer, on literal bytes and on files written and read back.
final class PerfDataTests: XCTestCase {
    func testHeaderStartsWithPERFILE2AndRoundTrips() throws {
        var header = FileHeader(attrEntrySize: 144, attrs: .init(offset: 104, size: 144), data: .init(offset: 248, size: 64))
        header.setFeature(Feature.hostname.rawValue)
        let bytes = header.encoded()
        XCTAssertEqual(bytes.count, 104)
        XCTAssertEqual(Array(bytes[0..<8]), Array("PERFILE2".utf8))
        let decoded = try bytes.withUnsafeBytes { try FileHeader(decoding: $0) }
        XCTAssertEqual(decoded, header)
        XCTAssertTrue(decoded.hasFeature(3))
        XCTAssertFalse(decoded.hasFeature(2))
    }

    func testRejectsTextAndPipeMode() {
        let text = Array("hello world, not perf data at all".utf8)
        XCTAssertThrowsError(try text.withUnsafeBytes { try FileHeader(decoding: $0) }) { error in
            guard case PerfDataError.notPerfData = error else { return XCTFail("\(error)") }
        }
        var pipe = ByteWriter()
        pipe.raw(Array("PERFILE2".utf8))
        pipe.u64(16)
        XCTAssertThrowsError(try pipe.bytes.withUnsafeBytes { try FileHeader(decoding: $0) }) { error in
            guard case PerfDataError.unsupported = error else { return XCTFail("\(error)") }
        }
    }

    func testAttrEncodingMatchesTheKernelLayout() throws {
        var attr = EventAttr(type: .software, config: 0)
        attr.sampleType = [.identifier, .ip, .tid, .time, .cpu, .period, .callchain]
        attr.flags = [.disabled, .inherit, .freq, .sampleIDAll, .mmap2]
        attr.samplePeriodOrFrequency = 999
        let bytes = attr.encoded()
        XCTAssertEqual(bytes.count, 128)
        XCTAssertEqual(Array(bytes[0..<8]), [1, 0, 0, 0, 128, 0, 0, 0])  // type SOFTWARE, size 128
        XCTAssertEqual(bytes[16], 0xe7)  // 999
        XCTAssertEqual(bytes[17], 0x03)
        // sample_type: IP|TID|TIME|CALLCHAIN|CPU|PERIOD = 0x1a7, IDENTIFIER = 0x10000
        XCTAssertEqual(Array(bytes[24..<27]), [0xa7, 0x01, 0x01])
        // flags: disabled(0) inherit(1) freq(10) sample_id_all(18) mmap2(23)
        let flags = bytes[40..<48].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        XCTAssertEqual(flags, 1 | 2 | 1 << 10 | 1 << 18 | 1 << 23)
        XCTAssertEqual(try bytes.withUnsafeBytes { try EventAttr(decoding: $0) }, attr)
    }

    /// A sample laid out field by field as the kernel writes it.
    func testSampleParsing() throws {
        var attr = EventAttr(type: .software)
        attr.sampleType = [.identifier, .ip, .tid, .time, .cpu, .period, .callchain]
        let layout = SampleLayout(attr: attr)
        var w = ByteWriter()
        w.u32(9); w.u16(2); w.u16(0)
        w.u64(77)                    // identifier
        w.u64(0x401000)              // ip
        w.i32(100); w.i32(101)       // pid, tid
        w.u64(123_456_789)           // time
        w.u32(1); w.u32(0)           // cpu, res
        w.u64(1_001_001)             // period
        w.u64(3)                     // nr
        w.u64(CallchainContext.user); w.u64(0x401000); w.u64(0x402345)
        w.patchU16(at: 6, UInt16(w.count))
        XCTAssertEqual(layout.sampleTimeOffset, 32)
        try w.bytes.withUnsafeBytes { raw in
            let s = try XCTUnwrap(Sample(record: raw, layout: layout))
            XCTAssertEqual(s.id, 77)
            XCTAssertEqual(s.ip, 0x401000)
            XCTAssertEqual(s.pid, 100)
            XCTAssertEqual(s.tid, 101)
            XCTAssertEqual(s.time, 123_456_789)
            XCTAssertEqual(s.cpu, 1)
            XCTAssertEqual(s.period, 1_001_001)
            XCTAssertEqual(s.callchainCount, 3)
            XCTAssertEqual(s.callchainEntry(2), 0x402345)
            XCTAssertEqual(s.cpuMode, .user)
            XCTAssertEqual(layout.time(of: raw, type: .sample), 123_456_789)
            XCTAssertEqual(layout.id(of: raw, type: .sample), 77)
            // A callchain claiming more entries than the record holds is rejected, not read past the end.
            XCTAssertNil(Sample(record: UnsafeRawBufferPointer(rebasing: raw[0..<(raw.count - 8)]), layout: layout))
        }
    }

    /// Non-sample records carry the sample_id trailer last: `{pid,tid}, time, {cpu,res}, identifier`.
    func testTrailerOffsetsAndSynthesizedRecords() throws {
        var attr = EventAttr(type: .software)
        attr.sampleType = [.identifier, .ip, .tid, .time, .cpu, .period]
        attr.flags = [.sampleIDAll]
        let encoder = RecordEncoder(attr: attr, id: 42)
        XCTAssertEqual(encoder.layout.trailerSize, 32)
        let comm = encoder.comm(pid: 7, tid: 8, name: "a-very-long-process-name")
        comm.withUnsafeBytes { raw in
            let c = CommRecord(record: raw)
            XCTAssertEqual(c?.pid, 7)
            XCTAssertEqual(c?.tid, 8)
            XCTAssertEqual(c?.comm, "a-very-long-pro")
            XCTAssertEqual(encoder.layout.id(of: raw, type: .comm), 42)
            XCTAssertEqual(encoder.layout.time(of: raw, type: .comm), 0)
        }
        XCTAssertEqual(comm.count % 8, 0)
        let m = MmapRecord(pid: 7, tid: 7, start: 0x1000, length: 0x2000, pageOffset: 0x1000, protection: 5, flags: 2,
                           device: (254, 0), inode: 99, filename: "/usr/bin/thing")
        try encoder.mmap2(m).withUnsafeBytes { raw in
            XCTAssertEqual(try XCTUnwrap(MmapRecord(record: raw, type: .mmap2)), m)
        }
    }

    /// Written by PerfDataWriter, read back by PerfDataFile: events, ids, names, features and records in time order.
    func testWriterAndReaderRoundTrip() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("roundtrip-\(UUID()).data").path
        defer { unlink(path); unlink(path + ".old") }
        var attr = EventAttr(type: .software)
        attr.sampleType = [.identifier, .ip, .tid, .time, .period]
        attr.flags = [.sampleIDAll, .mmap2, .comm]
        let writer = try PerfDataWriter(path: path)
        try writer.begin(events: [.init(attr: attr, ids: [5, 6], name: "cpu-clock")])
        let encoder = RecordEncoder(attr: attr, id: 5)
        try writer.append(encoder.comm(pid: 1, tid: 1, name: "init"))
        for (i, time) in [30, 10, 20].enumerated() {
            var w = ByteWriter()
            w.u32(9); w.u16(2); w.u16(48)
            w.u64(5); w.u64(UInt64(0x1000 + i)); w.i32(1); w.i32(1); w.u64(UInt64(time)); w.u64(1)
            try writer.append(w.bytes)
        }
        try writer.appendFinishedRound()
        try writer.finish(features: [(.hostname, FeatureEncoding.string("box")), (.cmdline, FeatureEncoding.stringList(["ember", "record"])),
                                     (.eventDesc, writer.eventDescription()),
                                     (.buildID, FeatureEncoding.buildIDs([BuildIDEntry(pid: -1, buildID: Array(1...20), filename: "/bin/x", cpuMode: .user)]))])
        let file = try PerfDataFile(path: path)
        XCTAssertEqual(file.warnings, [])
        XCTAssertEqual(file.events.count, 1)
        XCTAssertEqual(file.events[0].ids, [5, 6])
        XCTAssertEqual(file.events[0].name, "cpu-clock")
        XCTAssertEqual(file.string(.hostname), "box")
        XCTAssertEqual(file.commandLine, ["ember", "record"])
        XCTAssertEqual(file.buildIDs, [BuildIDEntry(pid: -1, buildID: Array(1...20), filename: "/bin/x", cpuMode: .user)])
        var times: [UInt64] = []
        var types: [RecordType] = []
        file.forEachRecord { r in
            types.append(r.type)
            if r.type == .sample { times.append(r.time) }
        }
        XCTAssertEqual(types, [.comm, .sample, .sample, .sample])
        XCTAssertEqual(times, [10, 20, 30], "sorted by time within the round")
    }

    /// HEADER_CLOCK_DATA as perf writes it: version, clockid, the time of day, the clock's time at that moment.
    func testClockDataLayout() {
        var w = ByteWriter()
        w.u32(1); w.u32(1); w.u64(1_700_000_000_123_456_789); w.u64(5_000_000_000)
        XCTAssertEqual(w.bytes.withUnsafeBytes { ClockData(section: $0) },
                       ClockData(clockID: 1, wallClock: 1_700_000_000_123_456_789, clockTime: 5_000_000_000))
        XCTAssertNil(w.bytes.prefix(20).withUnsafeBytes { ClockData(section: $0) }, "a short section")
    }

    func testBuildIDRecordLayout() {
        let bytes = FeatureEncoding.buildIDs([BuildIDEntry(pid: -1, buildID: [0xab, 0xcd], filename: "/a", cpuMode: .kernel)])
        XCTAssertEqual(bytes.count, 36 + 64, "perf pads the name to 64 bytes, not the record to 8")
        XCTAssertEqual(bytes[0], 67)                      // PERF_RECORD_HEADER_BUILD_ID
        XCTAssertEqual(bytes[4], 1)                       // kernel
        XCTAssertEqual(bytes[5], 0x80)                    // BUILD_ID_SIZE flag
        XCTAssertEqual(Array(bytes[8..<12]), [0xff, 0xff, 0xff, 0xff])
        XCTAssertEqual(Array(bytes[12..<14]), [0xab, 0xcd])
        XCTAssertEqual(bytes[32], 2)                      // size
        XCTAssertEqual(Array(bytes[36..<39]), [0x2f, 0x61, 0])
    }
}
