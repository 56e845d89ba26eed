@testable import EmberKernel
@testable import EmberRecord
import XCTest

/// Probe attrs as the kernel reads them (kernel/trace/trace_event_perf.c): kprobes cannot run here, so their
/// layout is checked byte by byte.
final class ProbeAttrTests: XCTestCase {
    func testKprobeAndKretprobeAttrLayout() throws {
        let pmu = DynamicPMU(name: "kprobe", type: EventType(rawValue: 6), retprobeBit: 0, refCtrShift: nil)
        let entry = EventResolver.kprobe(pmu: pmu, function: "do_sys_openat2", offset: 0x10, isReturn: false, filter: nil)
        let ret = EventResolver.kprobe(pmu: pmu, function: "do_sys_openat2", offset: 0, isReturn: true, filter: nil)
        XCTAssertEqual(entry.name, "kprobe:do_sys_openat2+16")
        XCTAssertEqual(ret.name, "kretprobe:do_sys_openat2")
        XCTAssertEqual(entry.probeString, "do_sys_openat2", "config1 points to the function name during the syscall")
        let e = entry.attr.encoded(), r = ret.attr.encoded()
        func u64(_ b: [UInt8], _ o: Int) -> UInt64 { b[o..<(o + 8)].enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) } }
        XCTAssertEqual(Array(e[0..<4]), [6, 0, 0, 0], "type: the kprobe PMU's dynamic type")
        XCTAssertEqual(u64(e, 8), 0, "config: an entry probe")
        XCTAssertEqual(u64(r, 8), 1, "config bit 0 (format/retprobe): a return probe")
        XCTAssertEqual(u64(e, 64), 0x10, "config2: the offset into the function")
        XCTAssertEqual(u64(e, 56), 0, "config1 is set only during perf_event_open")
        XCTAssertTrue(EventAttr(type: .software).sampleType.isEmpty)
        XCTAssertEqual(entry.attr.sampleType, [.raw, .regsIntr], "the registers at the probe, for the arguments")
        XCTAssertEqual(u64(e, 96), 1 << 0 | 1 << 2 | 1 << 3 | 1 << 4 | 1 << 5 | 1 << 16 | 1 << 17,
                       "sample_regs_intr: AX, CX, DX, SI, DI, R8, R9")
        XCTAssertEqual(u64(r, 96), u64(e, 96))
    }

    func testUprobeConfigCarriesTheSemaphoreOffset() {
        let pmu = DynamicPMU(name: "uprobe", type: EventType(rawValue: 8), retprobeBit: 0, refCtrShift: 32)
        XCTAssertEqual(pmu.config(retprobe: false, refCtrOffset: 0x3028), 0x3028 << 32)
        XCTAssertEqual(pmu.config(retprobe: true), 1)
        XCTAssertEqual(DynamicPMU.firstBit("config:32-63\n"), 32)
        XCTAssertEqual(DynamicPMU.firstBit("config:0"), 0)
    }

    func testEventParsing() throws {
        XCTAssertEqual(try EventRequest.parse("sched:sched_switch"), .tracepoint("sched:sched_switch"))
        XCTAssertEqual(try EventRequest.parse("uprobe:/bin/x:main+0x10"), .uprobe(binary: "/bin/x", location: .symbol("main", offset: 16), isReturn: false))
        XCTAssertEqual(try EventRequest.parse("uretprobe:libc:malloc"), .uprobe(binary: "libc", location: .symbol("malloc", offset: 0), isReturn: true))
        XCTAssertEqual(try EventRequest.parse("uprobe:/bin/x:0x1168"), .uprobe(binary: "/bin/x", location: .fileOffset(0x1168), isReturn: false))
        XCTAssertEqual(try EventRequest.parse("sdt:/bin/x:prov:name"), .usdt(binary: "/bin/x", provider: "prov", name: "name"))
        XCTAssertEqual(try EventRequest.parse("kretprobe:vfs_read"), .kprobe(function: "vfs_read", offset: 0, isReturn: true))
        XCTAssertThrowsError(try EventRequest.parse("kretprobe:vfs_read+4"))
        XCTAssertThrowsError(try EventRequest.parse("uprobe:/bin/x:main+zz"))
        XCTAssertThrowsError(try EventRequest.parse("nonsense"))
    }
}
