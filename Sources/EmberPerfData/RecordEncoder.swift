import EmberKernel

/// Builds the records a recorder synthesizes for what existed before it started (processes, their mappings, the
/// kernel), with the `sample_id` trailer their event's layout requires.
public struct RecordEncoder {
    public let layout: SampleLayout
    /// The id written into trailers, so that readers tie the record to the event.
    public let id: UInt64

    public init(attr: EventAttr, id: UInt64) {
        layout = SampleLayout(attr: attr)
        self.id = id
    }

    /// PERF_RECORD_COMM.
    public func comm(pid: Int32, tid: Int32, name: String, exec: Bool = false) -> [UInt8] {
        var w = ByteWriter()
        header(&w, type: .comm, misc: exec ? RecordMisc.commExec : 0)
        w.i32(pid)
        w.i32(tid)
        w.cString(String(decoding: Array(name.utf8.prefix(15)), as: UTF8.self), paddedTo: 8)
        return finish(&w, pid: pid, tid: tid)
    }

    /// PERF_RECORD_MMAP2 for a user-space mapping.
    public func mmap2(_ m: MmapRecord) -> [UInt8] {
        var w = ByteWriter()
        header(&w, type: .mmap2, misc: CPUMode.user.rawValue)
        w.i32(m.pid)
        w.i32(m.tid)
        w.u64(m.start)
        w.u64(m.length)
        w.u64(m.pageOffset)
        w.u32(m.device?.major ?? 0)
        w.u32(m.device?.minor ?? 0)
        w.u64(m.inode)
        w.u64(0)  // ino_generation
        w.u32(m.protection)
        w.u32(m.flags)
        w.cString(m.filename, paddedTo: 8)
        return finish(&w, pid: m.pid, tid: m.tid)
    }

    /// PERF_RECORD_MMAP of the kernel image, as perf writes it: pid -1, `[kernel.kallsyms]_text`, pgoff = start.
    public func kernelMmap(start: UInt64, length: UInt64) -> [UInt8] {
        var w = ByteWriter()
        header(&w, type: .mmap, misc: CPUMode.kernel.rawValue)
        w.i32(-1)
        w.i32(0)
        w.u64(start)
        w.u64(length)
        w.u64(start)
        w.cString("[kernel.kallsyms]_text", paddedTo: 8)
        return finish(&w, pid: -1, tid: 0)
    }

    private func header(_ w: inout ByteWriter, type: RecordType, misc: UInt16) {
        w.u32(type.rawValue)
        w.u16(misc)
        w.u16(0)
    }

    /// Appends the trailer (`{pid,tid}, time, id, stream_id, {cpu,res}, identifier` as present) and sets the size.
    private func finish(_ w: inout ByteWriter, pid: Int32, tid: Int32) -> [UInt8] {
        if layout.sampleIDAll {
            let t = layout.sampleType
            if t.contains(.tid) { w.i32(pid); w.i32(tid) }
            if t.contains(.time) { w.u64(0) }
            if t.contains(.id) { w.u64(id) }
            if t.contains(.streamID) { w.u64(id) }
            if t.contains(.cpu) { w.u64(0) }
            if t.contains(.identifier) { w.u64(id) }
        }
        w.patchU16(at: 6, UInt16(w.count))
        return w.bytes
    }
}
