/// PERF_RECORD_SWITCH: a task that a per-task event with `context_switch` follows left a CPU or came back to one.
/// Its thread and time are in the `sample_id` trailer.
public struct SwitchRecord: Equatable, Sendable {
    public var pid: Int32
    public var tid: Int32
    public var time: UInt64
    /// It left the CPU (else it came back).
    public var isOut: Bool
    /// It left still runnable (preempted), not blocked.
    public var preempted: Bool

    public init?(record r: UnsafeRawBufferPointer, misc: UInt16, layout: SampleLayout) {
        guard let tidBack = layout.trailerTIDFromEnd, let timeBack = layout.trailerTimeFromEnd, r.count >= 8 + layout.trailerSize,
              let pid = r.u32(r.count - tidBack), let tid = r.u32(r.count - tidBack + 4), let time = r.u64(r.count - timeBack)
        else { return nil }
        self.pid = Int32(bitPattern: pid)
        self.tid = Int32(bitPattern: tid)
        self.time = time
        isOut = misc & RecordMisc.switchOut != 0
        preempted = isOut && misc & RecordMisc.switchOutPreempt != 0
    }
}
