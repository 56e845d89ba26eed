/// PERF_RECORD_COMM: a thread's name, set at exec (`isExec`) or by prctl.
public struct CommRecord: Equatable, Sendable {
    public var pid: Int32
    public var tid: Int32
    public var comm: String
    public var isExec: Bool

    public init?(record r: UnsafeRawBufferPointer) {
        guard let misc = r.u16(4), let pid = r.u32(8), let tid = r.u32(12) else { return nil }
        self.pid = Int32(bitPattern: pid)
        self.tid = Int32(bitPattern: tid)
        self.isExec = misc & RecordMisc.commExec != 0
        // The name is NUL-padded to at most 16 bytes (TASK_COMM_LEN); cut the bytes before decoding them.
        let field = r.slice(16, Swift.min(16, Swift.max(0, r.count - 16))) ?? UnsafeRawBufferPointer(start: nil, count: 0)
        self.comm = String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
    }
}
