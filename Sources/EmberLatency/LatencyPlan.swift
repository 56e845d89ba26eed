import EmberRecord

/// What a latency recording records, for `ember latency` and the agent's off-CPU profiles alike: the tracepoints of
/// the kinds asked for and the probes of the functions, on every CPU (a wakeup comes from another process; the
/// report keeps to the target), with the call graph off-CPU stacks need, in rings sized for scheduler events.
public struct LatencyPlan: Sendable {
    public var kinds: Set<LatencyKind>
    /// `--func BINARY:SYMBOL` and `--kfunc FUNCTION`: each measured from its entry probe to its return probe.
    public var functions: [String] = []
    public var kernelFunctions: [String] = []
    /// How off-CPU stacks are taken (frame pointers unless asked otherwise).
    public var callGraph: RecordOptions.CallGraph = .framePointer

    /// Scheduler and syscall events come far denser than samples: 2 MiB a CPU.
    public static let ringPages = 512

    public init(kinds: Set<LatencyKind>) {
        self.kinds = kinds
    }

    /// The events to record, each once, in the order of the kinds.
    public var eventNames: [String] {
        var names: [String] = []
        for kind in kinds.sorted() { for e in LatencyAnalysis.events(for: kind) where !names.contains(e) { names.append(e) } }
        for f in functions { names += ["uprobe:" + f, "uretprobe:" + f] }
        for f in kernelFunctions { names += ["kprobe:" + f, "kretprobe:" + f] }
        return names
    }

    /// `template` (its output, duration, CPUs, delay) made into this plan's recording: every CPU (with the command,
    /// until it exits), these events, stacks where off-CPU time is measured. The processes `-p` named, to report.
    public func recordOptions(_ template: RecordOptions) throws -> (options: RecordOptions, processes: [Int32]?) {
        var options = template
        options.meant = template.target
        var processes: [Int32]?
        switch template.target {
        case .command(let argv): options.target = .allCPUs(command: argv)
        case .processes(let list):
            processes = list
            options.target = .allCPUs(command: nil)
        case .allCPUs: break
        }
        options.events = try eventNames.map { (try EventRequest.parse($0), nil) }
        // The stack each thread blocks in, for off-CPU flame graphs (ember flamegraph --offcpu).
        options.callGraph = kinds.contains(.offcpu) ? callGraph : .none
        options.mmapPages = LatencyPlan.ringPages
        return (options, processes)
    }
}
