@testable import EmberKernel
@testable import EmberPerfData
import XCTest

/// Tracepoint payloads, the tracing data that carries their formats, and the registers a sample may end with,
/// on literal bytes.
final class TracepointTests: XCTestCase {
    private let switchFormat = """
        name: sched_switch
        ID: 372
        format:
        \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
        \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

        \tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;
        \tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;
        \tfield:long prev_state;\toffset:28;\tsize:8;\tsigned:1;
        \tfield:__data_loc char[] filename;\toffset:36;\tsize:4;\tsigned:0;
        \tfield:unsigned long skip_ip;\toffset:40;\tsize:8;\tsigned:0;

        print fmt: "prev_comm=%s"
        """

    func testTracepointDecodingWithDataLocation() throws {
        let format = try XCTUnwrap(TracepointFormat(text: switchFormat, system: "sched"))
        XCTAssertEqual(format.id, 372)
        XCTAssertEqual(format.fields.map(\.baseName), ["prev_comm", "prev_pid", "prev_state", "filename", "skip_ip"])
        var raw = [UInt8](repeating: 0, count: 48 + 10)
        raw.replaceSubrange(8..<13, with: Array("sleep".utf8))
        withUnsafeBytes(of: Int32(-7).littleEndian) { raw.replaceSubrange(24..<28, with: $0) }
        withUnsafeBytes(of: Int64(1).littleEndian) { raw.replaceSubrange(28..<36, with: $0) }
        withUnsafeBytes(of: UInt32(10 << 16 | 48).littleEndian) { raw.replaceSubrange(36..<40, with: $0) }
        withUnsafeBytes(of: UInt64(0xffff_ffff_8100_0000).littleEndian) { raw.replaceSubrange(40..<48, with: $0) }
        raw.replaceSubrange(48..<57, with: Array("/bin/true".utf8))
        let text = raw.withUnsafeBytes { format.decode($0) }
        XCTAssertEqual(text, "prev_comm=sleep prev_pid=-7 prev_state=1 filename=/bin/true skip_ip=0xffffffff81000000")
        // A payload cut short leaves out what does not fit, and never reads past it.
        XCTAssertEqual(raw.withUnsafeBytes { format.decode(UnsafeRawBufferPointer(rebasing: $0[0..<30])) }, "prev_comm=sleep prev_pid=-7")
    }

    /// A field whose offset or size no RAW payload can have (a corrupt format) is left out, where its arithmetic
    /// (offset + size) used to trap; the others still decode.
    func testFieldsOutsideAPayloadAreLeftOut() throws {
        let corrupt = switchFormat
            .replacingOccurrences(of: "offset:24;\tsize:4;", with: "offset:9223372036854775807;\tsize:4;")
            .replacingOccurrences(of: "offset:28;\tsize:8;", with: "offset:28;\tsize:-9223372036854775808;")
        let format = try XCTUnwrap(TracepointFormat(text: corrupt, system: "sched"))
        XCTAssertEqual(format.fields.map(\.baseName), ["prev_comm", "filename", "skip_ip"])
        XCTAssertNil(TracepointFormat.IntegerField(offset: 0, size: -8, signed: false).read(UnsafeRawBufferPointer(start: nil, count: 0)))
    }

    func testTracingDataRoundTrip() {
        let bytes = TracingData.encode(headerPage: "page", headerEvent: "event", systems: [.init(name: "sched", formats: [switchFormat])], pageSize: 4096)
        let formats = bytes.withUnsafeBytes { TracingData.formats(in: $0) }
        XCTAssertEqual(formats[372]?.name, "sched_switch")
        XCTAssertEqual(formats[372]?.system, "sched")
        XCTAssertTrue(Array(bytes.prefix(10)) == [0x17, 0x08, 0x44] + Array("tracing".utf8))
        XCTAssertTrue(Array(bytes.prefix(40)).withUnsafeBytes { TracingData.formats(in: $0) }.isEmpty, "cut short: nothing, no crash")
    }

    /// PERF_SAMPLE_REGS_INTR after the raw payload: the ABI word, then the mask's registers in bit order (a
    /// kprobe's AX and DI here); a truncated register block is refused.
    func testInterruptedRegisters() {
        var attr = EventAttr(type: .tracepoint, config: 0)
        attr.sampleType = [.raw, .regsIntr]
        attr.sampleRegsIntr = 1 << 0 | 1 << 5
        let layout = SampleLayout(attr: attr)
        var bytes: [UInt8] = [9, 0, 0, 0, 0, 0, 40, 0]             // PERF_RECORD_SAMPLE, 40 bytes
        bytes += [4, 0, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd]             // raw: 4 bytes
        bytes += withUnsafeBytes(of: UInt64(2).littleEndian, Array.init)      // PERF_SAMPLE_REGS_ABI_64
        bytes += withUnsafeBytes(of: UInt64(4242).littleEndian, Array.init)   // AX
        bytes += withUnsafeBytes(of: UInt64(bitPattern: -100).littleEndian, Array.init)  // DI
        var sample = Sample()
        bytes.withUnsafeBytes { XCTAssertTrue(sample.load(record: $0, layout: layout)) }
        XCTAssertEqual(sample.intrRegister(perfBit: 0), 4242)
        XCTAssertEqual(sample.intrRegister(perfBit: 5).map { Int64(bitPattern: $0) }, -100)
        XCTAssertNil(sample.intrRegister(perfBit: 4), "SI was not asked for")
        XCTAssertNil(sample.userRegister(perfBit: 0))
        bytes.dropLast(8).withUnsafeBytes { XCTAssertFalse(sample.load(record: $0, layout: layout)) }
    }
}
