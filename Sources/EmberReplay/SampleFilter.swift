import EmberPerfData

/// Which samples a reading keeps, by perf's reader filters: `--comms`, `--pids`, `--tids`, `--cpu`, `--time`, and
/// where the sample was taken, `--dsos` and `--symbols`. Empty, it keeps all.
public struct SampleFilter: Sendable {
    public var comms: Set<String>?
    /// Processes by the name of their main thread (`ember agent --comm`): a server's worker threads often have names
    /// of their own, and its process is still the one meant.
    public var processComms: Set<String>?
    public var pids: Set<Int32>?
    public var tids: Set<Int32>?
    /// Processes and those forked from them during the recording (the recording's target, which the readers report
    /// by default); checked by `Replay`, which knows who forked whom.
    public var processTrees: Set<Int32>?
    public var cpus: Set<UInt32>?
    /// Spans of sample times (ns) to keep (`--time`).
    public var times: [ClosedRange<UInt64>]?
    /// Binaries (paths or file names, `[kernel.kallsyms]`) and functions (as shown, or as the binary names them) the
    /// sampled address must be in; checked by `Replay`, which resolves it.
    public var dsos: Set<String>?
    public var symbols: Set<String>?

    public init() {}

    public var isEmpty: Bool {
        comms == nil && processComms == nil && pids == nil && tids == nil && processTrees == nil && cpus == nil && times == nil && !checksLocation
    }
    public var checksLocation: Bool { dsos != nil || symbols != nil }

    /// Whether a sample, whose thread is named `comm` and whose process `processComm`, passes.
    public func accepts(_ sample: Sample, comm: @autoclosure () -> String, processComm: @autoclosure () -> String = "") -> Bool {
        if let times, !times.contains(where: { $0.contains(sample.time) }) { return false }
        if let pids, !pids.contains(sample.pid) { return false }
        if let tids, !tids.contains(sample.tid) { return false }
        if let cpus, !cpus.contains(sample.cpu) { return false }
        if let comms, !comms.contains(comm()) { return false }
        if let processComms, !processComms.contains(processComm()) { return false }
        return true
    }
}
