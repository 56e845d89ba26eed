import EmberKernel
@testable import EmberPerfData
import EmberSession
import XCTest

/// The process model on synthesized records: forks copy the parent's maps, exec starts over, a reused pid does
/// not inherit a dead process's maps.
final class ProcessModelTests: XCTestCase {
    private let encoder: RecordEncoder = {
        var attr = EventAttr(type: .software)
        attr.sampleType = [.tid, .time]
        attr.flags = [.sampleIDAll]
        return RecordEncoder(attr: attr, id: 1)
    }()

    private func apply(_ model: ProcessModel, _ bytes: [UInt8], _ type: RecordType) {
        bytes.withUnsafeBytes { model.apply(RecordRef(type: type, misc: UInt16(bytes[4]) | UInt16(bytes[5]) << 8, bytes: $0, eventIndex: 0, time: 0)) }
    }

    private func map(_ model: ProcessModel, pid: Int32, start: UInt64, path: String) {
        let m = MmapRecord(pid: pid, tid: pid, start: start, length: 0x1000, pageOffset: 0x2000, protection: 5, flags: 2,
                           device: nil, inode: 0, filename: path)
        apply(model, encoder.mmap2(m), .mmap2)
    }

    private func fork(_ model: ProcessModel, pid: Int32, ppid: Int32) {
        var w = ByteWriter()
        w.u32(RecordType.fork.rawValue); w.u16(0); w.u16(32)
        w.i32(pid); w.i32(ppid); w.i32(pid); w.i32(ppid); w.u64(0)
        apply(model, w.bytes, .fork)
    }

    func testForkCopiesMapsAndExecStartsOver() {
        let model = ProcessModel()
        apply(model, encoder.comm(pid: 10, tid: 10, name: "parent"), .comm)
        map(model, pid: 10, start: 0x400000, path: "/bin/parent")
        fork(model, pid: 11, ppid: 10)
        XCTAssertEqual(model.comm(tid: 11), "parent", "a child takes its parent's name")
        let inChild = model.resolve(pid: 11, address: 0x400010)
        XCTAssertEqual(inChild.map { model.dsos[$0.dso].path }, "/bin/parent")
        XCTAssertEqual(inChild?.address, .fileOffset(0x2010), "file offset = address - start + pgoff")
        apply(model, encoder.comm(pid: 11, tid: 11, name: "child", exec: true), .comm)
        XCTAssertEqual(model.resolve(pid: 11, address: 0x400010).map { model.dsos[$0.dso].path }, "/bin/parent",
                       "until the new image maps there, an address is the old image's (a sample inside execve)")
        map(model, pid: 11, start: 0x400000, path: "/bin/child")
        XCTAssertEqual(model.resolve(pid: 11, address: 0x400010).map { model.dsos[$0.dso].path }, "/bin/child", "exec replaces the address space")
        XCTAssertEqual(model.executable(pid: 11).map { model.dsos[$0].path }, "/bin/child")
        XCTAssertEqual(model.resolve(pid: 10, address: 0x400010).map { model.dsos[$0.dso].path }, "/bin/parent", "the parent keeps its own")
        XCTAssertEqual(model.comm(tid: 11), "child")
    }

    func testReusedPidDoesNotInheritAnEarlierProcessesMaps() {
        let model = ProcessModel()
        map(model, pid: 20, start: 0x500000, path: "/bin/old")
        fork(model, pid: 20, ppid: 99)  // pid 20 reused by a child of a process that predates the recording
        XCTAssertNil(model.resolve(pid: 20, address: 0x500010))
    }

    /// The regions pprof's mappings come from: a process's as mapped, the kernel's as its MMAP record places it.
    func testMappingsOfUserAndKernelAddresses() {
        let model = ProcessModel()
        map(model, pid: 10, start: 0x400000, path: "/bin/parent")
        apply(model, encoder.kernelMmap(start: 0xffff_ffff_8100_0000, length: 0x3f00_0000), .mmap)
        XCTAssertEqual(model.mapping(pid: 10, address: 0x400010),
                       Mapping(start: 0x400000, end: 0x401000, pageOffset: 0x2000, dso: model.dsoIndex(path: "/bin/parent")))
        XCTAssertEqual(model.mapping(pid: 10, address: 0xffff_ffff_8100_0010),
                       Mapping(start: 0xffff_ffff_8100_0000, end: 0xffff_ffff_c000_0000, pageOffset: 0xffff_ffff_8100_0000, dso: model.kernelDso))
        XCTAssertNil(model.mapping(pid: 10, address: 0xffff_ffff_c000_0010), "no module was mapped there")
        XCTAssertNil(model.mapping(pid: 10, address: 0x401000), "the end is outside")
        XCTAssertEqual(model.mappings(pid: 10).count, 1)
    }

    func testKernelAddressesAndUnknownThreads() {
        let model = ProcessModel()
        XCTAssertEqual(model.resolve(pid: 1, address: 0xffff_ffff_8100_0000)?.dso, model.kernelDso)
        XCTAssertNil(model.resolve(pid: 1, address: 0x1000))
        XCTAssertEqual(model.comm(tid: 77), ":77", "perf's name for a thread without COMM")
    }
}
