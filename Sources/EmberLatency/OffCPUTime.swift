import EmberPerfData
import EmberRecord
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

    /// Measures the waits of `replay`'s recording that last at least `minimumNs`: the time each thread spent
    /// blocked, and with `preemption` also its waits for a CPU after it was preempted (a wall-clock profile).
    public init(_ replay: Replay, minimumNs: UInt64 = 0, preemption: Bool = false) throws {
        var analysis = LatencyAnalysis(kinds: [.offcpu], minimumNs: minimumNs)
        analysis.collectsBlocks = true
        analysis.preemptionIsOffCPU = preemption
        try analysis.read(replay)
        waits = analysis.blocks
        wakerEventName = analysis.wakerEventName
    }

    /// `options` made into a wall-clock recording (`record --off-cpu`): beside its samples, the switch each of the
    /// target's threads blocks in, with its stack, and its context switches for when it runs again. Without a call
    /// graph asked for, frame-pointer stacks with their leaves repaired: a thread blocks inside libc, whose functions
    /// keep no frame pointer, so the kernel's chain alone would lose the function that called them.
    public static func wallClock(_ options: RecordOptions) throws -> RecordOptions {
        var options = options
        options.events.append(RecordedEvent(try EventRequest.parse(eventName)))
        options.contextSwitches = true
        if options.callGraph == .none {
            options.callGraph = .framePointer
            options.repairsLeaves = true
        }
        return options
    }

    /// A wall-clock recording (`record --off-cpu`): time samples (cpu-clock, task-clock) first, and the switches
    /// its followed tasks block in, which the readers fold together.
    public static func isWallClock(_ events: [EventDescription]) -> Bool {
        guard let first = events.first, first.attr.type == .software, first.attr.config <= 1,
              first.attr.flags.contains(.contextSwitch) else { return false }
        return events.contains { $0.name == eventName }
    }

    /// The off-CPU half of a wall-clock profile, for the readers.
    public var stacks: OffCPUStacks { OffCPUStacks(eventName: OffCPUTime.eventName) { weight($0) } }

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
