import EmberKernel
import EmberPerfData
#if canImport(Glibc)
import Glibc
#endif

/// One recording from its start to its end, whatever it records into: checks the options, starts the command held
/// before its exec, lets the sink open its events on the targets, enables them, sleeps until a ring, a signal or a
/// timer wakes it, hands what arrived to the sink, stops for a `StopReason`, and lets the sink finish. `record`,
/// the flight recorder, `--switch-output`, `stat`, `latency`, the agent and `EmberProfiler` are sinks and options
/// on this one lifecycle.
final class RecordingSession {
    private(set) var options: RecordOptions
    /// Notes, the command's pid and exit status and the seconds recorded; the sinks add their counts.
    var summary = RecordSummary()
    private(set) var workload: Workload?
    /// Every event group opened, in order: enabled, disabled and closed together.
    var groups: [EventGroup] = []
    /// Probes that follow forks are defined through tracefs, and removed once their events are closed.
    let tracefsProbes = TracefsProbes()
    /// When the command started (or the recording, without one), in monotonic seconds.
    private(set) var start = 0.0
    /// Executables the recorded processes mapped, for the build-id table.
    var executables = Set<String>()
    /// The tracepoints recorded, for HEADER_TRACING_DATA.
    var tracepoints: [(system: String, format: String)] = []

    init(options: RecordOptions) {
        self.options = options
    }

    /// Hands a message to the recording's owner.
    func say(_ message: RecordMessage) { options.messages(message) }

    /// Records into `sink` until the command exits, the duration passes, the processes are gone, a signal arrives
    /// or the sink stops; always lets the sink finish what it wrote. Throws only when setting up fails, after the
    /// sink has removed what it created.
    @discardableResult
    func run(_ sink: RecordSink) throws -> StopReason {
        let signals = SignalGuard(snapshots: sink.readsSnapshotSignal, active: options.ownsSignals)
        defer { signals.restore() }
        // Every event must be closed before tracefs lets its probe go.
        defer { close() }
        let waiter: EventWaiter
        do {
            try validate(sampling: sink.samples)
            try sink.prepare(self)
            let resolved = try resolveEvents()
            workload = try launchWorkload()
            do {
                let wakers = try sink.open(self, resolved)
                waiter = try EventWaiter(rings: wakers.rings, snapshots: sink.readsSnapshotSignal, signals: options.ownsSignals,
                                         also: wakers.fds)
                // A command's own events are enabled by its exec; events on every CPU are not the command's.
                if options.delay == nil {
                    for g in groups {
                        if case .command = options.target, !g.event.allCPUs { continue }
                        try g.enable()
                    }
                }
                try sink.ready(self)
            } catch {
                workload?.abandon()
                throw error
            }
        } catch {
            let failure = RecordError(wrapping: error)
            sink.abandon(self, failure)
            throw failure
        }
        for g in groups { summary.notes.append(contentsOf: g.notes) }
        start = monotonicSeconds()
        summary.commandPID = workload?.pid
        do {
            try workload?.start()
        } catch {
            summary.notes.append("\(error)")
        }
        if let delay = options.delay {
            EventGroup.enable(groups, after: delay, waiter: waiter, workload: workload) { sink.enabling(self) }
        }
        sink.began(self)
        let deadline = options.duration.map { start + $0 }
        var reason: StopReason
        var ending: StopReason?
        while true {
            waiter.wait(timeoutMS: timeout(sink.wakeInterval(self), deadline: deadline))
            var snapshotAsked = false
            ending = stopCheck(waiter, deadline: deadline) { snapshotAsked = true }
            if let stop = sink.wake(self, snapshotAsked: snapshotAsked, ending: ending) {
                reason = stop
                break
            }
            if let ending {
                reason = ending
                break
            }
        }
        for g in groups { g.disable() }
        if reason == .writeFailed, ending == nil {
            // The command is the user's: a full disk ends the recording, not the command. Wait for it (or for a
            // signal) without recording.
            while workload != nil, stopCheck(waiter, deadline: deadline) == nil { waiter.wait(timeoutMS: 100) }
        }
        sink.stop(self, reason: reason)
        summary.seconds = monotonicSeconds() - start
        if let workload {
            workload.terminate()
            summary.exitStatus = workload.waitForExit()
        }
        sink.finish(self)
        return reason
    }

    /// The milliseconds to sleep: the sink's interval, at most a second while `-p` processes may end unsignalled,
    /// and no later than the deadline; -1 to sleep until woken.
    private func timeout(_ interval: Int?, deadline: Double?) -> Int {
        var t = interval
        if case .processes = options.target { t = min(t ?? 1000, 1000) }
        if let deadline {
            let left = max(0, Int((deadline - monotonicSeconds()) * 1000))
            t = min(t ?? left, left)
        }
        return t ?? -1
    }

    /// Why the recording should stop now, or nil to go on. SIGUSR2 calls `snapshot`.
    private func stopCheck(_ waiter: EventWaiter, deadline: Double?, snapshot: () -> Void = {}) -> StopReason? {
        var interrupted: Int32?
        while let signal = waiter.nextSignal() {
            if signal == SIGUSR2 { snapshot() }
            if signal == SIGINT || signal == SIGTERM || signal == SIGHUP { interrupted = signal }
        }
        if let interrupted { return .signal(interrupted) }
        if let workload, workload.pollExit() != nil { return .commandExited }
        if let deadline, monotonicSeconds() >= deadline { return .durationElapsed }
        if case .processes(let pids) = options.target, !pids.contains(where: ProcScanner.exists) { return .processesExited }
        return nil
    }

    /// Closes every event (their rings with them) and then removes the tracefs probes they used.
    private func close() {
        for g in groups { g.close() }
        groups.removeAll()
        tracefsProbes.removeAll()
    }

    // MARK: Setting up

    /// Checks what can be checked before anything is opened; lowers a default frequency above the kernel's limit.
    private func validate(sampling: Bool) throws {
        guard !options.events.isEmpty else { throw RecordError.noEvents }
        // The command's end arrives as SIGCHLD, which only a recording that owns the signals reads.
        var runsCommand = false
        switch options.target {
        case .command: runsCommand = true
        case .allCPUs(let command): runsCommand = command != nil
        case .processes: break
        }
        if !options.ownsSignals, runsCommand {
            throw RecordError.output("a recording that leaves signals to its program (ownsSignals off) cannot run a command; record -p or -a")
        }
        let counters = options.events.contains { if case .counter = $0.request { return true } else { return false } }
        if sampling, counters, case .frequency(let f) = options.sampling, let max = Sysctl.perfEventMaxSampleRate.value, f > UInt64(max) {
            guard options.samplingIsDefault, max > 0 else { throw RecordError.frequencyTooHigh(requested: f, maximum: max) }
            options.sampling = .frequency(UInt64(max))
            summary.notes.append("kernel.perf_event_max_sample_rate is \(max); sampling at \(max) Hz instead of \(f) Hz")
        }
        if case .processes(let pids) = options.target {
            for pid in pids where pid <= 0 || !ProcScanner.exists(pid) { throw RecordError.noSuchProcess(pid) }
        }
    }

    private func launchWorkload() throws -> Workload? {
        switch options.target {
        case .command(let argv), .allCPUs(let argv?): return try Workload(arguments: argv, environment: options.environment, stdoutToStderr: options.output == "-")
        default: return nil
        }
    }

    private func resolveEvents() throws -> [ResolvedEvent] {
        var out: [ResolvedEvent] = []
        for asked in options.events {
            out += try EventResolver.resolve(asked.request, filter: asked.filter, pids: options.targetPIDs).map { event in
                var e = event
                e.allCPUs = asked.allCPUs
                e.stacks = asked.stacks
                e.repairsLeaf = asked.repairsLeaf
                return e
            }
        }
        guard !out.isEmpty else { throw RecordError.noEvents }
        return out
    }
}
