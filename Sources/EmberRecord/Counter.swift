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

    /// What to count and for how long: the events, the target, `-C`, `-D`, `--no-inherit` and `-t` as a
    /// recording takes them (sampling, output and call graphs do not apply).
    private let options: RecordOptions
    /// `-I`: every this many seconds, `onInterval` gets the counts of that interval alone.
    public var interval: Double?
    public var onInterval: ((Result) -> Void)?
    /// `--interval-count`: stop after this many intervals.
    public var intervalCount: Int?
    /// `--per-thread`: counts per thread of the processes counted.
    public var perThread = false

    /// While counting: the events as resolved, each one's group (nil where the machine cannot count it), the
    /// readings at the last interval, when the next interval ends, how many have passed, and a failed reading.
    private var resolved: [ResolvedEvent] = []
    private var opened: [EventGroup?] = []
    private var previous: [[Reading]] = []
    private var nextInterval: Double?
    private var intervals = 0
    private var failure: Error?
    private var result: Result?

    public init(options: RecordOptions) {
        self.options = options
    }

    public func run() throws -> Result {
        var options = options
        options.progress = false
        try RecordingSession(options: options).run(self)
        if let failure { throw failure }
        return result!
    }
}

/// Counting on the recording session: events with no sampling and no rings, read at each interval and at the end.
extension Counter: RecordSink {
    var samples: Bool { false }
    var readsSnapshotSignal: Bool { false }

    func open(_ session: RecordingSession, _ resolved: [ResolvedEvent]) throws -> SinkWakers {
        self.resolved = resolved
        for event in resolved {
            do {
                let group = try session.openEvents([event], role: .counting)[0]
                try group.applyFilter()
                opened.append(group)
            } catch RecordError.eventNotSupported {
                // As perf stat: a row that says so, not a cpu-clock count under the event's name.
                opened.append(nil)
            }
        }
        return SinkWakers(rings: [])
    }

    /// The first interval ends one interval after counting began (after -D), as perf's.
    func began(_ session: RecordingSession) {
        nextInterval = interval.map { monotonicSeconds() + $0 }
        do { previous = try readings(opened) } catch { failure = error }
    }

    func wakeInterval(_ session: RecordingSession) -> Int? {
        guard let nextInterval else { return 100 }
        return max(0, min(100, Int((nextInterval - monotonicSeconds()) * 1000)))
    }

    func wake(_ session: RecordingSession, snapshotAsked: Bool, ending: StopReason?) -> StopReason? {
        guard failure == nil else { return .requested }
        guard let due = nextInterval, let interval, monotonicSeconds() >= due else { return nil }
        do {
            let now = try readings(opened)
            onInterval?(Result(counts: counts(now, since: previous), seconds: due - session.start, exitStatus: 0, notes: []))
            previous = now
        } catch {
            failure = error
            return .requested
        }
        nextInterval = due + interval
        intervals += 1
        if let intervalCount, intervals >= intervalCount { return .requested }
        return nil
    }

    func finish(_ session: RecordingSession) {
        var usage = rusage()
        let childTimes = session.workload != nil && getrusage(RUSAGE_CHILDREN.rawValue, &usage) == 0
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        let final: [[Reading]]
        do { final = try readings(opened) } catch {
            failure = failure ?? error
            return
        }
        var threads: [ThreadCounts] = []
        if perThread, case .processes = options.target {
            let tids = Set(opened.compactMap { $0 }.flatMap { $0.events.map(\.pid) }).sorted()
            threads = tids.map { tid in
                ThreadCounts(tid: tid, comm: ProcScanner.comm(pid: tid, tid: tid) ?? "?", counts: counts(final, only: tid))
            }
        }
        let summary = session.summary
        result = Result(counts: counts(final), threads: threads, seconds: summary.seconds, exitStatus: summary.exitStatus,
                        notes: summary.notes, userSeconds: childTimes ? seconds(usage.ru_utime) : nil,
                        systemSeconds: childTimes ? seconds(usage.ru_stime) : nil)
    }

    /// One event's count as read: value, time enabled, time running.
    private typealias Reading = (value: UInt64, enabled: UInt64, running: UInt64)

    /// Every opened event's reading, per requested event (none where it could not be opened).
    private func readings(_ opened: [EventGroup?]) throws -> [[Reading]] {
        try opened.map { group in try group?.events.map { try $0.readCount() } ?? [] }
    }

    /// The counts of `now` (less `since`, for an interval), of every thread or of one.
    private func counts(_ now: [[Reading]], since: [[Reading]]? = nil, only tid: Int32? = nil) -> [Count] {
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
