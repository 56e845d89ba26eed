import EmberPerfData
import EmberStacks

/// Run-queue delay and off-CPU time per thread, from `sched:sched_switch`, `sched:sched_wakeup` and
/// `sched:sched_wakeup_new`, paired per thread in time order across CPUs (the replay merges the rings by time).
///
/// A thread becomes runnable at a wakeup, or at a switch that leaves it runnable (`prev_state & 0xff == 0`:
/// preempted or yielded); it blocks at a switch that leaves it in any other state. Switched in, its run-queue
/// delay and, if it had blocked, its off-CPU time end.
public struct SchedLatency {
    /// The sched tracepoints a recording needs, and how to record them.
    public static let events = ["sched:sched_switch", "sched:sched_wakeup", "sched:sched_wakeup_new"]

    private enum Event { case switchTask, wakeup }

    private struct Fields {
        var event: Event
        var prevPid: TracepointFormat.Field?
        var prevState: TracepointFormat.Field?
        var nextPid: TracepointFormat.Field?
        var pid: TracepointFormat.Field?
    }

    /// Per thread: when it became runnable, and when it blocked.
    private var runnableSince: [Int32: UInt64] = [:]
    private var blockedSince: [Int32: UInt64] = [:]
    public private(set) var threads: [Int32: [LatencyKind: LatencyStats]] = [:]
    /// The time of the first and the last sched event (perf's clock, ns).
    public private(set) var firstTime: UInt64?
    public private(set) var lastTime: UInt64 = 0
    private let kinds: Set<LatencyKind>
    private let minimumNs: UInt64

    public init(kinds: Set<LatencyKind>, minimumNs: UInt64 = 0) {
        self.kinds = kinds
        self.minimumNs = minimumNs
    }

    /// Reads every sched event of `replay`; throws when the recording has none of them.
    public mutating func read(_ replay: Replay) throws {
        let formats = replay.file.section(.tracingData).map(TracingData.formats) ?? [:]
        var byEvent: [Int: Fields] = [:]
        for (i, e) in replay.file.events.enumerated() where e.attr.type == .tracepoint {
            guard let f = formats[e.attr.config], f.system == "sched" else { continue }
            func field(_ name: String) -> TracepointFormat.Field? { f.fields.first { $0.name == name } }
            switch f.name {
            case "sched_switch":
                byEvent[i] = Fields(event: .switchTask, prevPid: field("prev_pid"), prevState: field("prev_state"), nextPid: field("next_pid"))
            case "sched_wakeup", "sched_wakeup_new":
                byEvent[i] = Fields(event: .wakeup, pid: field("pid"))
            default: break
            }
        }
        guard byEvent.values.contains(where: { $0.event == .switchTask }) else { throw LatencyError.noSchedEvents }
        replay.forEachSample(event: nil) { sample, index in
            guard let fields = byEvent[index] else { return }
            if firstTime == nil { firstTime = sample.time }
            lastTime = max(lastTime, sample.time)
            switch fields.event {
            case .switchTask:
                guard let prev = fields.prevPid.flatMap({ $0.integer(in: sample.raw) }),
                      let state = fields.prevState.flatMap({ $0.integer(in: sample.raw) }),
                      let next = fields.nextPid.flatMap({ $0.integer(in: sample.raw) }) else { return }
                switchTask(prev: Int32(truncatingIfNeeded: prev), state: state, next: Int32(truncatingIfNeeded: next), at: sample.time)
            case .wakeup:
                guard let pid = fields.pid.flatMap({ $0.integer(in: sample.raw) }), pid > 0 else { return }
                let tid = Int32(truncatingIfNeeded: pid)
                if runnableSince[tid] == nil { runnableSince[tid] = sample.time }
            }
        }
        for tid in runnableSince.keys { threads[tid, default: [:]][.sched, default: LatencyStats()].unfinished += 1 }
        for tid in blockedSince.keys where kinds.contains(.offcpu) {
            threads[tid, default: [:]][.offcpu, default: LatencyStats()].unfinished += 1
        }
    }

    private mutating func switchTask(prev: Int32, state: Int64, next: Int32, at time: UInt64) {
        if prev > 0 {
            if state & 0xff == 0 {
                runnableSince[prev] = time
            } else {
                runnableSince[prev] = nil
                blockedSince[prev] = time
            }
        }
        guard next > 0 else { return }
        if let start = runnableSince.removeValue(forKey: next) { add(.sched, tid: next, time &- start, start <= time) }
        if let start = blockedSince.removeValue(forKey: next) { add(.offcpu, tid: next, time &- start, start <= time) }
    }

    private mutating func add(_ kind: LatencyKind, tid: Int32, _ ns: UInt64, _ ordered: Bool) {
        guard kinds.contains(kind), ordered, ns >= minimumNs else { return }
        threads[tid, default: [:]][kind, default: LatencyStats()].record(ns)
    }
}

public enum LatencyError: Error, CustomStringConvertible {
    case noSchedEvents

    public var description: String {
        switch self {
        case .noSchedEvents:
            return "the recording has no sched:sched_switch events; record them with 'ember latency -- CMD' (or perf sched record)"
        }
    }
}
