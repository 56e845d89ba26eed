import EmberKernel
#if canImport(Glibc)
import Glibc
#endif

/// `ember stat`: exact counts of events (no sampling) for a command, processes or all CPUs, like `perf stat`.
public final class Counter {
    public struct Count: Sendable {
        public var name: String
        /// The count, scaled up when the counter ran only part of the time it was enabled.
        public var value: UInt64
        /// The share of time the counter ran (1 unless the kernel multiplexed it; 0: never counted).
        public var running: Double
        /// False for an event this machine cannot count (a hardware event without a PMU).
        public var supported = true
        /// A clock event (task-clock, cpu-clock): the value is nanoseconds.
        public var isClock = false
        /// How long the counter ran, in nanoseconds (perf's event-runtime).
        public var runningNs: UInt64 = 0
    }

    /// One thread's counts (`--per-thread`).
    public struct ThreadCounts: Sendable {
        public var tid: Int32
        public var comm: String
        public var counts: [Count]
    }

    public struct Result: Sendable {
        public var counts: [Count]
        /// Per thread, when asked for (`perThread`) and the target is processes.
        public var threads: [ThreadCounts] = []
        public var seconds: Double
        public var exitStatus: Int32
        public var notes: [String]
        /// The command's CPU time, when one ran.
        public var userSeconds: Double?
        public var systemSeconds: Double?
    }

    private let events: [(request: EventRequest, filter: String?)]
    private let target: RecordOptions.Target
    private let duration: Double?
    /// `-I`: every this many seconds, `onInterval` gets the counts of that interval alone.
    public var interval: Double?
    public var onInterval: ((Result) -> Void)?
    /// `--interval-count`: stop after this many intervals.
    public var intervalCount: Int?
    /// `--per-thread`: counts per thread of the processes counted.
    public var perThread = false
    /// `-C`: only these CPUs; `-D`: start counting this many seconds after the command starts; `--no-inherit`;
    /// `-t`: only these threads of the processes.
    public var cpus: [Int32]?
    public var delay: Double?
    public var inherit = true
    public var threads: [Int32]?
    /// Probes that follow forks are defined through tracefs, and removed once their events are closed.
    private let tracefsProbes = TracefsProbes()

    deinit { tracefsProbes.removeAll() }

    public init(events: [(request: EventRequest, filter: String?)], target: RecordOptions.Target, duration: Double?) {
        self.events = events
        self.target = target
        self.duration = duration
    }

    public func run() throws -> Result {
        let signals = SignalGuard()
        defer { signals.restore() }
        var pids: [Int32] = []
        if case .processes(let p) = target {
            for pid in p where !ProcScanner.exists(pid) { throw RecordError.noSuchProcess(pid) }
            pids = p
        }
        var resolved: [ResolvedEvent] = []
        for (request, filter) in events { resolved += try EventResolver.resolve(request, filter: filter, pids: pids) }
        var workload: Workload?
        switch target {
        case .command(let argv), .allCPUs(let argv?): workload = try Workload(arguments: argv)
        default: break
        }
        let cpus = self.cpus ?? OnlineCPUs.list()
        let perTask = self.cpus ?? [-1]
        var groups: [EventGroup] = []
        var probeNotes: [String] = []
        /// Per event, its group, or nil when the machine cannot count it.
        var opened: [EventGroup?] = []
        do {
            for event in resolved {
                var e = event
                // Counting: no sampling period, no records; every hit counted.
                e.attr.samplePeriodOrFrequency = 0
                e.attr.sampleType = []
                e.attr.sampleRegsUser = 0
                e.attr.readFormat = 0b11  // TOTAL_TIME_ENABLED | TOTAL_TIME_RUNNING
                var targets: [(Int32, Int32)] = []
                let describe: String
                switch target {
                case .command:
                    e = try tracefsProbes.convert(e, notes: &probeNotes)
                    e.attr.flags.insert(.disabled)
                    if delay == nil { e.attr.flags.insert(.enableOnExec) }
                    if e.followsForks && inherit { e.attr.flags.insert(.inherit) }
                    // Counting needs no ring buffer, so one inherited event per task follows it on every CPU.
                    targets = perTask.map { (workload!.pid, $0) }
                    describe = "count events of the command"
                case .processes(let pids):
                    e = try tracefsProbes.convert(e, notes: &probeNotes)
                    if e.followsForks && inherit { e.attr.flags.insert(.inherit) }
                    if delay != nil { e.attr.flags.insert(.disabled) }
                    for tid in threads ?? pids.flatMap(ProcScanner.threads(of:)) { for cpu in perTask { targets.append((tid, cpu)) } }
                    describe = "count events of process \(pids.map(String.init).joined(separator: ","))"
                case .allCPUs:
                    if delay != nil { e.attr.flags.insert(.disabled) }
                    targets = cpus.map { (-1, $0) }
                    describe = "count events on all CPUs"
                }
                let group = EventGroup(event: e)
                group.fallsBackToCPUClock = false
                do {
                    try group.open(targets: targets, describe: describe)
                } catch RecordError.eventNotSupported {
                    // As perf stat: a row that says so, not a cpu-clock count under the event's name.
                    opened.append(nil)
                    continue
                }
                try group.applyFilter()
                groups.append(group)
                opened.append(group)
            }
        } catch {
            workload?.abandon()
            throw RecordError(wrapping: error)
        }
        let waiter = try EventWaiter(rings: [])
        let start = monotonicSeconds()
        var notes = probeNotes + groups.flatMap(\.notes)
        do { try workload?.start() } catch { notes.append("\(error)") }
        if let delay { EventGroup.enable(groups, after: delay, waiter: waiter, workload: workload) }
        // The first interval ends one interval after counting began (after -D), as perf's.
        var nextInterval = interval.map { monotonicSeconds() + $0 }
        let deadline = duration.map { start + $0 }
        var previous = try readings(opened)
        var intervals = 0
        while true {
            var timeout = 100
            if let deadline { timeout = max(0, min(timeout, Int((deadline - monotonicSeconds()) * 1000))) }
            if let nextInterval { timeout = max(0, min(timeout, Int((nextInterval - monotonicSeconds()) * 1000))) }
            waiter.wait(timeoutMS: timeout)
            if let due = nextInterval, let interval, monotonicSeconds() >= due {
                let now = try readings(opened)
                onInterval?(Result(counts: counts(resolved, opened, now, since: previous), seconds: due - start, exitStatus: 0, notes: []))
                previous = now
                nextInterval = due + interval
                intervals += 1
                if let intervalCount, intervals >= intervalCount { break }
            }
            var interrupted = false
            while let s = waiter.nextSignal() { if s == SIGINT || s == SIGTERM || s == SIGHUP { interrupted = true } }
            if interrupted { break }
            if let workload, workload.pollExit() != nil { break }
            if let deadline, monotonicSeconds() >= deadline { break }
            if case .processes(let p) = target, !p.contains(where: ProcScanner.exists) { break }
        }
        for g in groups { g.disable() }
        let elapsed = monotonicSeconds() - start
        var status: Int32 = 0
        if let workload {
            workload.terminate()
            status = workload.waitForExit()
        }
        var usage = rusage()
        let childTimes = workload != nil && getrusage(RUSAGE_CHILDREN.rawValue, &usage) == 0
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        let final = try readings(opened)
        var threads: [ThreadCounts] = []
        if perThread, case .processes = target {
            let tids = Set(groups.flatMap { $0.events.map(\.pid) }).sorted()
            threads = tids.map { tid in
                ThreadCounts(tid: tid, comm: ProcScanner.comm(pid: tid, tid: tid) ?? "?",
                             counts: counts(resolved, opened, final, only: tid))
            }
        }
        let totals = counts(resolved, opened, final)
        return Result(counts: totals, threads: threads, seconds: elapsed, exitStatus: status, notes: notes,
                      userSeconds: childTimes ? seconds(usage.ru_utime) : nil, systemSeconds: childTimes ? seconds(usage.ru_stime) : nil)
    }

    /// One event's count as read: value, time enabled, time running.
    private typealias Reading = (value: UInt64, enabled: UInt64, running: UInt64)

    /// Every opened event's reading, per requested event (none where it could not be opened).
    private func readings(_ opened: [EventGroup?]) throws -> [[Reading]] {
        try opened.map { group in try group?.events.map { try $0.readCount() } ?? [] }
    }

    /// The counts of `now` (less `since`, for an interval), of every thread or of one.
    private func counts(_ resolved: [ResolvedEvent], _ opened: [EventGroup?], _ now: [[Reading]], since: [[Reading]]? = nil,
                        only tid: Int32? = nil) -> [Count] {
        zip(resolved, opened).enumerated().map { index, pair -> Count in
            let (event, group) = pair
            let isClock = event.attr.type == .software && event.attr.config <= 1
            guard let g = group else { return Count(name: event.name, value: 0, running: 0, supported: false, isClock: isClock) }
            var value: UInt64 = 0, enabled: UInt64 = 0, running: UInt64 = 0
            for (i, e) in g.events.enumerated() where tid == nil || e.pid == tid {
                var r = now[index][i]
                if let since {
                    let before = since[index][i]
                    r = (r.value &- before.value, r.enabled &- before.enabled, r.running &- before.running)
                }
                // Scale each CPU's share by its own running time, as perf stat does.
                value &+= r.running > 0 && r.running < r.enabled ? UInt64(Double(r.value) * Double(r.enabled) / Double(r.running)) : r.value
                enabled &+= r.enabled
                running &+= r.running
            }
            // Never enabled (a thread that never ran in the span): not counted, as perf says, unless counts came in.
            return Count(name: g.name, value: value, running: enabled == 0 ? (value > 0 ? 1 : 0) : Double(running) / Double(enabled),
                         isClock: isClock, runningNs: running)
        }
    }
}
