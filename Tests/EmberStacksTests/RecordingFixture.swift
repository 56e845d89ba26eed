import EmberKernel
import EmberPerfData
import Foundation

/// Small recordings written with PerfDataWriter for tests that need a file but no kernel.
enum RecordingFixture {
    static func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("ember-unit-\(UUID().uuidString).data").path
    }

    static func attr(callchain: Bool = true) -> EventAttr {
        var attr = EventAttr(type: .software, config: 0)
        attr.sampleType = [.identifier, .ip, .tid, .time, .cpu, .period]
        if callchain { attr.sampleType.insert(.callchain) }
        attr.flags = [.sampleIDAll, .mmap2, .comm]
        return attr
    }

    static func sample(id: UInt64, pid: Int32, time: UInt64, chain: [UInt64], period: UInt64 = 1000) -> [UInt8] {
        var w = ByteWriter()
        w.u32(RecordType.sample.rawValue); w.u16(CPUMode.user.rawValue); w.u16(0)
        w.u64(id); w.u64(chain.last ?? 0); w.i32(pid); w.i32(pid); w.u64(time); w.u32(0); w.u32(0); w.u64(period)
        w.u64(UInt64(chain.count))
        for a in chain { w.u64(a) }
        w.patchU16(at: 6, UInt16(w.count))
        return w.bytes
    }

    /// Two events (ids 1 and 2) named `first` and `second`; a process with one mapping; samples of both events;
    /// one LOST record.
    static func write(to path: String) throws {
        let a = attr()
        let writer = try PerfDataWriter(path: path)
        try writer.begin(events: [.init(attr: a, ids: [1], name: "first"), .init(attr: a, ids: [2], name: "second")])
        let enc = RecordEncoder(attr: a, id: 1)
        try writer.append(enc.comm(pid: 5, tid: 5, name: "prog"))
        try writer.append(enc.mmap2(MmapRecord(pid: 5, tid: 5, start: 0x400000, length: 0x1000, pageOffset: 0,
                                               protection: 5, flags: 2, device: nil, inode: 0, filename: "/nonexistent/prog")))
        for i in 0..<20 {
            try writer.append(sample(id: i % 4 == 0 ? 2 : 1, pid: 5, time: UInt64(100 + i),
                                     chain: [CallchainContext.user, 0x400100 + UInt64(i % 3), 0x400200]))
        }
        var lost = ByteWriter()
        lost.u32(RecordType.lost.rawValue); lost.u16(0); lost.u16(0)
        lost.u64(1); lost.u64(7)
        lost.i32(5); lost.i32(5); lost.u64(200); lost.u32(0); lost.u32(0); lost.u64(1)
        lost.patchU16(at: 6, UInt16(lost.count))
        try writer.append(lost.bytes)
        try writer.appendFinishedRound()
        try writer.finish(features: [(.eventDesc, writer.eventDescription())])
    }
}
