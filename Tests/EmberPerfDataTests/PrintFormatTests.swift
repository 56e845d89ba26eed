@testable import EmberPerfData
import XCTest

/// Tracepoint print formats evaluated over byte-literal records, for the C that real formats use.
final class PrintFormatTests: XCTestCase {
    /// A format with one field of each kind the cases below read.
    private func format(_ printFmt: String) throws -> TracepointFormat {
        let text = """
            name: test
            ID: 7
            format:
            \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
            \tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;
            \tfield:long state;\toffset:24;\tsize:8;\tsigned:1;
            \tfield:unsigned int dev;\toffset:32;\tsize:4;\tsigned:0;
            \tfield:int ret;\toffset:36;\tsize:4;\tsigned:1;
            \tfield:unsigned long addr;\toffset:40;\tsize:8;\tsigned:0;
            \tfield:unsigned long args[2];\toffset:48;\tsize:16;\tsigned:0;
            \tfield:__data_loc char[] name;\toffset:64;\tsize:4;\tsigned:0;
            \tfield:__u8 saddr[28];\toffset:68;\tsize:28;\tsigned:0;

            print fmt: \(printFmt)
            """
        return try XCTUnwrap(TracepointFormat(text: text, system: "test"))
    }

    /// comm "sleep", state 2, dev 254:3, ret -11, addr 0xffffffff81000010, args {0xe7, 0}, name "eth0", and an
    /// AF_INET sockaddr 127.0.0.1:8080 in saddr.
    private let record: [UInt8] = {
        var raw = [UInt8](repeating: 0, count: 100)
        func put<T: FixedWidthInteger>(_ v: T, _ at: Int) { withUnsafeBytes(of: v.littleEndian) { raw.replaceSubrange(at..<at + MemoryLayout<T>.size, with: $0) } }
        raw.replaceSubrange(8..<13, with: Array("sleep".utf8))
        put(Int64(2), 24)
        put(UInt32(254 << 20 | 3), 32)
        put(Int32(-11), 36)
        put(UInt64(0xffff_ffff_8100_0010), 40)
        put(UInt64(0xe7), 48)
        put(UInt32(4 << 16 | 96), 64)
        raw.replaceSubrange(68..<76, with: [2, 0, 0x1f, 0x90, 127, 0, 0, 1])
        raw.replaceSubrange(96..<100, with: Array("eth0".utf8))
        return raw
    }()

    private func render(_ printFmt: String, context: PrintFormat.Context = .init()) throws -> String {
        let f = try format(printFmt)
        XCTAssertNotNil(f.printFormat, "parsed: \(printFmt)")
        return record.withUnsafeBytes { f.describe($0, context: context) }
    }

    func testSchedSwitchState() throws {
        let fmt = #""prev_comm=%s prev_state=%s%s ==>", REC->comm, (REC->state & ((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004) + 1) << 1) - 1)) ? __print_flags(REC->state & ((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004) + 1) << 1) - 1), "|", { 0x00000001, "S" }, { 0x00000002, "D" }, { 0x00000004, "T" }) : "R", REC->state & (((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004) + 1) << 1) ? "+" : """#
        XCTAssertEqual(try render(fmt), "prev_comm=sleep prev_state=D ==>")
    }

    func testIntegersAsPrintfPrintsThem() throws {
        XCTAssertEqual(try render(#""%d,%d %03d %x %#x %08lx %u", ((unsigned int) ((REC->dev) >> 20)), ((unsigned int) ((REC->dev) & ((1U << 20) - 1))), 5, REC->ret, 255, REC->ret, REC->ret"#),
                       "254,3 005 fffffff5 0xff fffffffffffffff5 4294967285")
        XCTAssertEqual(try render(#""NR %ld (%lx, %lx) %-4d| %5s|", REC->ret, REC->args[0], REC->args[1], 7, "ab""#), "NR -11 (e7, 0) 7   |    ab|")
        // C's conversions: an unsigned operand makes the comparison unsigned (-4095UL is huge).
        XCTAssertEqual(try render(#""%lx", (unsigned long)(void *)(REC->addr) >= (unsigned long)-4095 ? 0 : REC->addr"#), "ffffffff81000010")
        XCTAssertEqual(try render(#""%d %d", REC->ret < 0, (long)REC->ret / 2"#), "1 -5")
    }

    /// printf as C has it: zero padding after the sign or 0x, an integer's precision as its least digits,
    /// `*` and `.*` from the arguments (a negative width left-aligns; huge ones are clamped, not allocated).
    func testPrintfEdges() throws {
        XCTAssertEqual(try render(#""%#08x|%08d|%.4u|%-6d|%+d", 31, REC->ret, 7, -3, 5"#), "0x00001f|-0000011|0007|-3    |+5")
        XCTAssertEqual(try render(#""%.*s|%*d|%-*d|", 3, REC->comm, 4, 7, -3, 8"#), "sle|   7|8  |")
        XCTAssertEqual(try render(#""%.*s|%d", -1, REC->comm, 9"#), "sleep|9", "a negative precision is none")
        XCTAssertEqual(try render(#""%*d", -2147483648, 1"#).count, PrintFormat.widthLimit)
        XCTAssertEqual(try render(#""%99999999999999999999999d", 1"#).count, PrintFormat.widthLimit)
        XCTAssertEqual(try render(#""%s", __print_array(REC->args, 4611686018427387904, 8)"#), "{0xe7,0x0}", "a count past the array")
    }

    /// A format nested deeper than the parser goes is refused, not a stack overflow.
    func testDeepNesting() throws {
        XCTAssertNil(try format(#""%d", "# + String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000)).printFormat)
        XCTAssertNil(try format(#""%d", "# + String(repeating: "-", count: 5000) + "1").printFormat)
        XCTAssertEqual(try render(#""%d", "# + String(repeating: "(", count: 50) + "1" + String(repeating: ")", count: 50)), "1")
    }

    func testSymbolicAndUnknownConstants() throws {
        XCTAssertEqual(try render(#""%s %s", __print_symbolic(REC->state, { 1, "ONE" }, { 2, "TWO" }), __print_symbolic(REC->dev, { 1, "ONE" })"#),
                       "TWO 0xfe00003")
        // An enum constant the kernel did not substitute matches nothing; in arithmetic it is 0.
        XCTAssertEqual(try render(#""%s %s %p", __print_symbolic(REC->state, { MODE_A, "A" }), __print_flags(REC->state, "|", { FLAG_X, "X" }, { 2, "Y" }), ((struct page *)vmemmap_base) + (REC->state)"#),
                       "0x2 Y 0x2")
    }

    func testStringsPointersAndAddresses() throws {
        let context = PrintFormat.Context(kernelFunction: { $0 == 0xffff_ffff_8100_0010 ? ("do_work", 0x10) : nil },
                                          kernelStrings: [0xffff_ffff_8100_0010: "Start scheduler-tick"])
        XCTAssertEqual(try render(#""%s name=%s %pS %ps %p %p %pS", REC->addr, __get_str(name), REC->addr, REC->addr, REC->addr, 0, 0"#, context: context),
                       "Start scheduler-tick name=eth0 do_work+0x10 do_work 0xffffffff81000010 (nil) 0x0")
        XCTAssertEqual(try render(#""src=%pISpc %pI4", REC->saddr, REC->saddr"#), "src=127.0.0.1:8080 2.0.31.144")
        XCTAssertEqual(try render(#""%d %s", __get_dynamic_array_len(name), __print_hex(REC->saddr, 4)"#), "4 02 00 1f 90")
    }

    func testIPv6Compression() {
        func v6(_ words: [UInt16], _ kind: String = "I6c") -> String? {
            IPAddressText(kind: kind, bytes: words.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] })?.text
        }
        XCTAssertEqual(v6([0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]), "::ffff:127.0.0.1")
        XCTAssertEqual(v6([0, 0, 0, 0, 0, 0, 0, 1]), "::1")
        XCTAssertEqual(v6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1]), "2001:db8::1:0:0:1")
        XCTAssertEqual(v6([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1]), "2001:db8:0:1:1:1:1:1", "a single zero word stays")
        XCTAssertEqual(v6([0, 0, 0, 0, 0, 0, 0, 1], "I6"), "0000:0000:0000:0000:0000:0000:0000:0001")
    }

    /// A format beyond the subset (a kernel function call) prints the fields by name instead; so does a record cut
    /// short, and a malformed format never traps.
    func testFallbacks() throws {
        let f = try format(#""ms=%u", jiffies_to_msecs(REC->dev)"#)
        XCTAssertNil(f.printFormat)
        XCTAssertTrue(record.withUnsafeBytes { f.describe($0) }.hasPrefix("comm=sleep state=2"))
        let g = try format(#""%s %d", REC->comm, REC->ret"#)
        XCTAssertEqual(record.withUnsafeBytes { g.describe(UnsafeRawBufferPointer(rebasing: $0[0..<30])) }, "comm=sleep")
        for broken in [#""%d", é"#, #""%d", ("#, #""%d", REC->"#, #""%d", REC->nope"#, #""%d"#, #""%d", 1 ? 2"#, #""%d", {1, "a"}"#, #""%d", __print_flags(1)"#] {
            XCTAssertNil(try format(broken).printFormat, broken)
        }
        XCTAssertEqual(try render(#""%d %d""#), "comm=sleep state=2 dev=266338307 ret=-11 addr=0xffffffff81000010 args=0xe7000000000000000000000000000000 name=eth0 saddr=0x0200" + "1f907f000001" + String(repeating: "0", count: 40), "more conversions than arguments")
    }
}
