import EmberPerfData
import EmberReplay
import EmberStacks

/// Off-CPU time as a weight on stacks: each `sched_switch` sample that began a measured wait weighs the nanoseconds
/// its thread then stayed off the CPU, as the latency analysis measured it. `ember collapse/flamegraph --offcpu` and
/// the agent's `/debug/pprof/offcpu` weigh their stacks with it.
public struct OffCPUTime: Sendable {
    /// The event whose samples carry the weights.
    public static let eventName = "sched:sched_switch"
    /// Each measured wait by the sample that began it.
    public let waits: [SampleKey: OffCPUWait]
    /// The event whose samples `wakers` names.
    public let wakerEventName: String

    /// Measures the waits of `replay`'s recording that last at least `minimumNs`.
    public init(_ replay: Replay, minimumNs: UInt64 = 0) throws {
        var analysis = LatencyAnalysis(kinds: [.offcpu], minimumNs: minimumNs)
        analysis.collectsBlocks = true
        try analysis.read(replay)
        waits = analysis.blocks
        wakerEventName = analysis.wakerEventName
    }

    /// A sample's weight: the nanoseconds off the CPU of the wait it began, or nil (the sample began none).
    public func weight(_ sample: Sample) -> UInt64? {
        waits[SampleKey(tid: sample.tid, time: sample.time)]?.ns
    }

    /// Each wait's waker: the sample (of `wakerEventName`) that woke it, by the sample that began it.
    public var wakers: [SampleKey: SampleKey] {
        waits.compactMapValues { wait in
            guard let tid = wait.wakerTID, let time = wait.wakeTime else { return nil }
            return SampleKey(tid: tid, time: time)
        }
    }
}
