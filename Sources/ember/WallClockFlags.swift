import ArgumentParser
import EmberLatency
import EmberPerfData
import EmberReplay
import EmberStacks

/// `--on-cpu-only` and `--off-cpu-only`: which half of a wall-clock recording (`record --off-cpu`) `report` and
/// `pprof` weigh; both by default.
struct WallClockFlags: ParsableArguments {
    @Flag(name: .customLong("on-cpu-only"), help: "Of a wall-clock recording (record --off-cpu), only the CPU samples.")
    var onCPUOnly = false

    @Flag(name: .customLong("off-cpu-only"), help: "Only the time blocked, by the stack each thread blocked in (of a record --off-cpu or latency --offcpu recording).")
    var offCPUOnly = false

    enum Choice {
        /// The event's samples by their periods.
        case samples
        /// Off-CPU time alone: the stacks of its event, weighed by the time blocked.
        case offCPUOnly(OffCPUStacks)
        /// On- and off-CPU time side by side.
        case both(OffCPUStacks)
    }

    static let bothHalves = "--on-cpu-only and --off-cpu-only choose opposite halves; give one"

    /// A wall-clock recording read whole: neither half chosen, nor an event (`event`: the one asked for).
    func foldsBothHalves(_ replay: Replay, event: String?) -> Bool {
        !onCPUOnly && !offCPUOnly && event == nil && OffCPUTime.isWallClock(replay.events)
    }

    /// What to weigh in `replay`; `event`: the event asked for, which reads the samples as recorded.
    func choice(_ replay: Replay, event: String?) throws -> Choice {
        if onCPUOnly, offCPUOnly { throw Diagnostics.fail(WallClockFlags.bothHalves) }
        if offCPUOnly { return .offCPUOnly(try FoldOptions.offCPUTime(replay, minimumNs: 0).stacks) }
        return foldsBothHalves(replay, event: event) ? .both(try FoldOptions.offCPUTime(replay, minimumNs: 0).stacks) : .samples
    }

    /// What a reader of samples (an export, pprof, report) takes from the choice: the event to read (`event`, or
    /// the off-CPU event for off-CPU time alone), each sample's weight instead of its period (off-CPU time alone),
    /// and the off-CPU stacks to read beside the samples (both halves).
    func sources(_ replay: Replay, event: String?) throws -> (event: String?, weight: (@Sendable (Sample) -> UInt64?)?, offCPU: OffCPUStacks?) {
        switch try choice(replay, event: event) {
        case .samples: return (event, nil, nil)
        case .offCPUOnly(let stacks): return (stacks.eventName, stacks.weight, nil)
        case .both(let stacks): return (event, nil, stacks)
        }
    }
}
