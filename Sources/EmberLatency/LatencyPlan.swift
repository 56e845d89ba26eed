import EmberKernel
import EmberRecord

/// What a latency recording records, for `ember latency` and the agent's off-CPU profiles alike. A command or `-p`
/// processes are recorded alone (their events follow them and their children), with the scheduler's
/// context-switch records for the moment each thread comes back to a CPU; only what other processes do to them is
/// recorded on every CPU: the wakeups run-queue delay is measured from, and with `wakers` the stacks that woke them.
/// Stacks are taken only where they are folded: the switch a thread blocks in, and the wakers'.
public struct LatencyPlan: Sendable {
    public var kinds: Set<LatencyKind>
    /// `--func BINARY:SYMBOL` and `--kfunc FUNCTION`: each measured from its entry probe to its return probe.
    public var functions: [String] = []
    public var kernelFunctions: [String] = []
    /// How off-CPU stacks are taken (frame pointers unless asked otherwise).
    public var callGraph: RecordOptions.CallGraph = .framePointer
    /// With off-CPU time: the stack and name of whatever woke each wait (`collapse --offcpu --wakers`).
    public var wakers = false

    /// Scheduler and syscall events come far denser than samples: 2 MiB a CPU.
    public static let ringPages = 512

    public init(kinds: Set<LatencyKind>) {
        self.kinds = kinds
    }

    /// The events to record, each once; `perTask`: for a command or processes rather than every CPU. The first is
    /// always one of the target's own.
    func events(perTask: Bool) -> [(name: String, allCPUs: Bool, stacks: Bool)] {
        var out: [(name: String, allCPUs: Bool, stacks: Bool)] = []
        func add(_ name: String, allCPUs: Bool = false, stacks: Bool = false) {
            if let i = out.firstIndex(where: { $0.name == name }) {
                out[i].stacks = out[i].stacks || stacks
            } else {
                out.append((name, allCPUs && perTask, stacks))
            }
        }
        let offCPU = kinds.contains(.offcpu), sched = kinds.contains(.sched)
        // The switch a thread leaves the CPU in: its stack is where it blocked. A task's context-switch records
        // say as much without the stack, so run-queue delay alone needs the tracepoint only on every CPU.
        if offCPU || (sched && !perTask) { add("sched:sched_switch", stacks: offCPU) }
        if kinds.contains(.syscall) { for e in LatencyAnalysis.events(for: .syscall) { add(e) } }
        for f in functions { add("uprobe:" + f); add("uretprobe:" + f) }
        for f in kernelFunctions { add("kprobe:" + f); add("kretprobe:" + f) }
        // A thread becomes runnable when another (or an interrupt) wakes it.
        if sched || (offCPU && !perTask) { add("sched:sched_wakeup", allCPUs: true); add("sched:sched_wakeup_new", allCPUs: true) }
        // sched_waking fires in the waker's context, so its stack is the waker's.
        if offCPU, wakers || !perTask { add("sched:sched_waking", allCPUs: true, stacks: true) }
        if out.isEmpty || out[0].allCPUs {
            // Nothing of the target's own to carry its process records and context switches: an event that counts
            // nothing does.
            out.insert((EventSpec.dummy.name, false, false), at: 0)
        }
        return out
    }

    /// `template` (its output, duration, CPUs, delay) made into this plan's recording: these events, stacks where
    /// off-CPU time is measured. The processes `-p` named, to report.
    public func recordOptions(_ template: RecordOptions) throws -> (options: RecordOptions, processes: [Int32]?) {
        var options = template
        var processes: [Int32]?
        var perTask = true
        switch template.target {
        case .command: break
        case .processes(let list): processes = list
        case .allCPUs: perTask = false
        }
        options.events = try events(perTask: perTask).map {
            RecordedEvent(try EventRequest.parse($0.name), allCPUs: $0.allCPUs, stacks: $0.stacks)
        }
        // When each thread comes back to a CPU: its own events cannot tell.
        options.contextSwitches = perTask && (kinds.contains(.sched) || kinds.contains(.offcpu))
        // The stack each thread blocks in, for off-CPU flame graphs (ember flamegraph --offcpu).
        options.callGraph = kinds.contains(.offcpu) ? callGraph : .none
        options.mmapPages = LatencyPlan.ringPages
        return (options, processes)
    }
}
