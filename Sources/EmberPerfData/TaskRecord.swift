/// PERF_RECORD_FORK and PERF_RECORD_EXIT.
public struct TaskRecord: Equatable, Sendable {
    public var pid: Int32
    public var ppid: Int32
    public var tid: Int32
    public var ptid: Int32
    public var time: UInt64

    public init?(record r: UnsafeRawBufferPointer) {
        guard let pid = r.u32(8), let ppid = r.u32(12), let tid = r.u32(16), let ptid = r.u32(20),
              let time = r.u64(24) else { return nil }
        self.pid = Int32(bitPattern: pid)
        self.ppid = Int32(bitPattern: ppid)
        self.tid = Int32(bitPattern: tid)
        self.ptid = Int32(bitPattern: ptid)
        self.time = time
    }
}
