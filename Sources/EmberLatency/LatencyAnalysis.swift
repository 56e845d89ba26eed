import EmberPerfData
import EmberReplay
import EmberStacks

/// Waits and calls paired per thread, in time order across CPUs (the replay merges the rings by time):
/// - run-queue delay and off-CPU time from `sched:sched_switch`, `sched:sched_wakeup` and `sched_wakeup_new`. A
///   thread becomes runnable at a wakeup, or at a switch that leaves it runnable (`prev_state & 0xff == 0`:
///   preempted); it blocks at a switch that leaves it in any other state; switched in, both end. A recording of a
///   command or processes alone has their context-switch records (PERF_RECORD_SWITCH) for the switch-in, and for the
///   switch-out too where it has no `sched_switch`; its wakeups come from every CPU, and count only for its threads;
/// - system calls from `raw_syscalls:sys_enter` to `sys_exit` of the same number;
/// - functions from a `uprobe:` at entry to the `uretprobe:` of the same location (kernel functions from a `kprobe:`
///   to its `kretprobe:`), through a per-thread stack so that recursion and nesting pair correctly.
/// A start without an end, or an end without a start, is counted as unfinished, never as a duration.
public struct LatencyAnalysis {
    /// The tracepoints each kind records.
    public static func events(for kind: LatencyKind) -> [String] {
        switch kind {
        case .sched: return ["sched:sched_switch", "sched:sched_wakeup", "sched:sched_wakeup_new"]
        // sched_waking fires in the waker's context; sched_wakeup may fire on the woken thread's CPU, in the idle
        // task that runs a wake-up queued to it, so only sched_waking's stack is the waker's.
        case .offcpu: return ["sched:sched_switch", "sched:sched_wakeup", "sched:sched_wakeup_new", "sched:sched_waking"]
        case .syscall: return ["raw_syscalls:sys_enter", "raw_syscalls:sys_exit"]
        case .function, .kfunction: return []
        }
    }

    private enum Handler {
        case switchTask(prevPid: TracepointFormat.IntegerField, prevState: TracepointFormat.IntegerField, nextPid: TracepointFormat.IntegerField)
        /// `sched_wakeup`, or `sched_wakeup_new` (`new`: of a thread its parent just forked).
        case wakeup(pid: TracepointFormat.IntegerField, new: Bool)
        case waking(pid: TracepointFormat.IntegerField)
        case syscallEnter(id: TracepointFormat.IntegerField)
        case syscallExit(id: TracepointFormat.IntegerField, ret: TracepointFormat.IntegerField)
        /// A function's entry and return: its row's key id.
        case functionEntry(Int)
        case functionReturn(Int)
    }

    /// A per-thread stack of function entries deeper than this is cut (and counted as unfinished).
    static let maximumDepth = 1024

    /// What one thread is waiting for or inside of, and its rows.
    private struct ThreadState {
        var tid: Int32
        var runnableSince: UInt64?
        var blockedSince: UInt64?
        /// When a blocked thread was woken, and by whom: its off-CPU time ends here if its switch-in never shows.
        var woken: (time: UInt64, by: Int32)?
        /// The sample whose stack is the waker's: its `sched_waking` (or, in recordings without it, `woken`).
        var waker: (time: UInt64, by: Int32)?
        var syscall: (id: Int64, time: UInt64)?
        var calls: [(key: Int, time: UInt64)] = []
        /// In a recording of tasks (`followsTasks`): one of them, whose switches are recorded.
        var followed = false
        /// Rows by interned key id (hashing a name, or even a key, per event was a third of the time).
        var rows: [LatencyStats?] = []

        init(tid: Int32) { self.tid = tid }

        var isPending: Bool { runnableSince != nil || blockedSince != nil || syscall != nil || !calls.isEmpty }
    }

    /// Threads by tid: one hash per thread an event names, then plain fields.
    private var slots = ThreadSlots()
    private var states: [ThreadState] = []
    /// The last tid looked up and its slot: a switch's context thread is usually its `prev`.
    private var lastTID: Int32 = 0, lastSlot = -1

    /// Waits whose switch-in the kernel did not report (seen here for switches out of an idle CPU): off-CPU time
    /// then ends at the wake-up, and the run-queue delay is counted as unfinished.
    public private(set) var missedSwitchIns: UInt64 = 0
    /// Events whose time lies outside the recording's span (a corrupt recording): left out, never measured.
    public private(set) var timesOutsideSpan: UInt64 = 0
    /// The event whose samples are the wakers' stacks (`OffCPUWait.wakerTID` and `wakeTime` name one of them):
    /// `sched:sched_waking` when the recording has it, else `sched:sched_wakeup`.
    public private(set) var wakerEventName = "sched:sched_wakeup"
    /// The heat map of one kind, for the threads `heatmapIncludes` accepts (asked as each wait ends).
    public var heatmap: LatencyHeatmap?
    public var heatmapIncludes: (Int32) -> Bool = { _ in true }
    /// With `collectsBlocks`: each measured off-CPU wait by the `sched_switch` sample that started it, for off-CPU
    /// stacks.
    public var collectsBlocks = false
    /// A preempted thread's wait for a CPU is off-CPU time too (a wall-clock profile, where a thread's time on and
    /// off the CPU add up to its lifetime); else off-CPU time is only what it spends blocked.
    public var preemptionIsOffCPU = false
    public private(set) var blocks: [SampleKey: OffCPUWait] = [:]
    /// Threads with a wait or call under way when events were lost: those were dropped, not measured.
    public private(set) var threadsAffectedByLoss = Set<Int32>()
    private var keys: [LatencyKey] = [LatencyAnalysis.runqueue, LatencyAnalysis.offCPU]
    private var keyIDs: [LatencyKey: Int] = [LatencyAnalysis.runqueue: 0, LatencyAnalysis.offCPU: 1]
    private var syscallKeys: [Int64: Int] = [:]
    static let runqueue = LatencyKey(kind: .sched, name: "runqueue"), offCPU = LatencyKey(kind: .offcpu, name: "offcpu")
    private static let runqueueID = 0, offCPUID = 1

    /// Each thread's rows.
    public var threads: [Int32: [LatencyKey: LatencyStats]] {
        var out: [Int32: [LatencyKey: LatencyStats]] = [:]
        for state in states {
            var rows: [LatencyKey: LatencyStats] = [:]
            for (id, stats) in state.rows.enumerated() { if let stats { rows[keys[id]] = stats } }
            if !rows.isEmpty { out[state.tid] = rows }
        }
        return out
    }

    private mutating func slot(_ tid: Int32) -> Int {
        if tid == lastTID, lastSlot >= 0 { return lastSlot }
        let s = slots.slot(tid)
        if s == states.count { states.append(ThreadState(tid: tid)) }
        lastTID = tid
        lastSlot = s
        return s
    }

    private mutating func keyID(_ key: LatencyKey) -> Int {
        if let id = keyIDs[key] { return id }
        keys.append(key)
        keyIDs[key] = keys.count - 1
        return keys.count - 1
    }

    private mutating func syscallKey(_ id: Int64) -> Int {
        // A number no kernel has (below 1024, x32's bit aside) counts under one name: a corrupt recording could
        // otherwise make a row, each with its own histogram, of every distinct value.
        let id = (0..<1024).contains(id & ~0x4000_0000) ? id : Int64.min
        if let k = syscallKeys[id] { return k }
        let k = keyID(LatencyKey(kind: .syscall, name: id == Int64.min ? "syscall_unknown" : SyscallNames.name(id, arch: arch)))
        syscallKeys[id] = k
        return k
    }
    /// The time of the first and the last event read (perf's clock, ns).
    public private(set) var firstTime: UInt64?
    public private(set) var lastTime: UInt64 = 0
    private let kinds: Set<LatencyKind>
    private let minimumNs: UInt64
    private var arch: String?
    /// x86-64's `uretprobe` syscall, which the kernel's return-probe trampoline makes (never a program): a recording
    /// with return probes has one per return, and it is the probe's cost, not the program's wait.
    private var uretprobeSyscall: Int64?

    /// The kinds asked for, as flags: a Set of a String-backed enum hashes a string per lookup.
    private let wantsSched: Bool, wantsOffCPU: Bool, wantsSyscall: Bool, wantsFunction: Bool
    /// The recording follows tasks with context-switch records (a command's or processes' recording), and whether
    /// it has `sched_switch` too (whose switch-out carries the stack, so the record's is not used).
    private var followsTasks = false, hasSwitchTracepoint = false

    public init(kinds: Set<LatencyKind>, minimumNs: UInt64 = 0) {
        self.kinds = kinds
        self.minimumNs = minimumNs
        wantsSched = kinds.contains(.sched)
        wantsOffCPU = kinds.contains(.offcpu)
        wantsSyscall = kinds.contains(.syscall)
        wantsFunction = kinds.contains(.function) || kinds.contains(.kfunction)
    }

    private func wants(_ kind: LatencyKind) -> Bool {
        switch kind {
        case .sched: return wantsSched
        case .offcpu: return wantsOffCPU
        case .syscall: return wantsSyscall
        case .function, .kfunction: return kinds.contains(kind)
        }
    }

    /// Reads every event of `replay` the chosen kinds need; throws when the recording has none for a kind.
    public mutating func read(_ replay: Replay) throws {
        arch = replay.file?.string(.arch)
        uretprobeSyscall = SyscallNames.name(335, arch: arch) == "uretprobe" ? 335 : nil
        let handlers = try handlers(replay)
        // A time outside the recording's span is a corrupt one: measured, it would make a wait of centuries.
        let span = (followsTasks ? replay.sampleAndSwitchSpan : replay.sampleSpan).map { $0.first...$0.last }
        replay.forEachSample(event: nil, lost: { time in dropPending(before: time) }, switched: { change in
            if let span, !span.contains(change.time) {
                timesOutsideSpan += 1
                return
            }
            if firstTime == nil { firstTime = change.time }
            lastTime = max(lastTime, change.time)
            switched(change)
        }) { sample, index in
            guard let handler = handlers[index] else { return }
            if let span, !span.contains(sample.time) {
                timesOutsideSpan += 1
                return
            }
            if firstTime == nil { firstTime = sample.time }
            lastTime = max(lastTime, sample.time)
            // Every event runs in some thread's context: that thread is on a CPU now.
            if sample.tid > 0 { running(slot(sample.tid), at: sample.time) }
            handle(handler, sample)
        }
        for s in states.indices where states[s].isPending {
            if states[s].runnableSince != nil { finishLater(s, LatencyAnalysis.runqueueID) }
            if states[s].blockedSince != nil { finishLater(s, LatencyAnalysis.offCPUID) }
            if let call = states[s].syscall, call.id != uretprobeSyscall { finishLater(s, syscallKey(call.id)) }
            for call in states[s].calls { finishLater(s, call.key) }
        }
    }

    /// A probe event's kind of function, the function's name and whether it is the return probe: `uprobe:B:S` and
    /// `uretprobe:B:S` time user functions, `kprobe:F` and `kretprobe:F` kernel ones.
    /// The kinds a recording's events can be measured as (what `latency -i` reports when no kind is asked for):
    /// sched and off-CPU time from sched_switch (a recording of tasks: off-CPU time from their context switches,
    /// run-queue delay when it has their wakeups too), syscalls from sys_enter, functions from a probe return.
    public static func kinds(recordedIn events: [EventDescription]) -> Set<LatencyKind> {
        var kinds = Set<LatencyKind>()
        let followsTasks = events.contains { $0.attr.flags.contains(.contextSwitch) }
        if followsTasks { kinds.insert(.offcpu) }
        for event in events {
            switch event.name {
            case "sched:sched_switch": kinds.formUnion(followsTasks ? [.offcpu] : [.sched, .offcpu])
            case "sched:sched_wakeup" where followsTasks: kinds.insert(.sched)
            case "raw_syscalls:sys_enter": kinds.insert(.syscall)
            default: if let (kind, _, isReturn) = probe(event.name), isReturn { kinds.insert(kind) }
            }
        }
        return kinds
    }

    static func probe(_ event: String) -> (LatencyKind, String, Bool)? {
        for (prefix, kind, isReturn) in [("uprobe:", LatencyKind.function, false), ("uretprobe:", .function, true),
                                         ("kprobe:", .kfunction, false), ("kretprobe:", .kfunction, true)] where event.hasPrefix(prefix) {
            return (kind, String(event.dropFirst(prefix.count)), isReturn)
        }
        return nil
    }

    /// What to do with each event of the file, by event index; throws when a kind has none of its events.
    private mutating func handlers(_ replay: Replay) throws -> [Handler?] {
        let formats = replay.file?.section(.tracingData).map(TracingData.formats) ?? [:]
        var out = [Handler?](repeating: nil, count: replay.events.count)
        followsTasks = replay.events.contains { $0.attr.flags.contains(.contextSwitch) }
        for (i, e) in replay.events.enumerated() {
            if e.attr.type == .tracepoint, let f = formats[e.attr.config] {
                func field(_ name: String) -> TracepointFormat.IntegerField? { f.fields.first { $0.name == name }?.integer }
                switch (f.system, f.name) {
                case ("sched", "sched_switch"):
                    if let p = field("prev_pid"), let s = field("prev_state"), let n = field("next_pid") {
                        out[i] = .switchTask(prevPid: p, prevState: s, nextPid: n)
                    }
                case ("sched", "sched_wakeup"), ("sched", "sched_wakeup_new"):
                    if let p = field("pid") { out[i] = .wakeup(pid: p, new: f.name == "sched_wakeup_new") }
                case ("sched", "sched_waking"):
                    if let p = field("pid") {
                        out[i] = .waking(pid: p)
                        wakerEventName = "sched:sched_waking"
                    }
                case ("raw_syscalls", "sys_enter"):
                    if let id = field("id") { out[i] = .syscallEnter(id: id) }
                case ("raw_syscalls", "sys_exit"):
                    if let id = field("id"), let ret = field("ret") { out[i] = .syscallExit(id: id, ret: ret) }
                default: break
                }
            }
            // A probe that follows forks is a tracefs event, a tracepoint by its type: known by its name.
            if out[i] == nil, let (kind, name, isReturn) = LatencyAnalysis.probe(e.name), kinds.contains(kind) {
                let key = keyID(LatencyKey(kind: kind, name: name))
                out[i] = isReturn ? .functionReturn(key) : .functionEntry(key)
            }
        }
        hasSwitchTracepoint = out.contains { if case .switchTask? = $0 { return true } else { return false } }
        for kind in kinds.sorted() {
            let present = out.contains { handler in
                switch (kind, handler) {
                case (.sched, .switchTask?) where !followsTasks, (.offcpu, .switchTask?), (.syscall, .syscallEnter?): return true
                case (.sched, .wakeup?), (.offcpu, _): return followsTasks
                case (.function, .functionReturn(let key)?), (.kfunction, .functionReturn(let key)?): return keys[key].kind == kind
                default: return false
                }
            }
            guard present else { throw LatencyError.missingEvents(kind) }
        }
        return out
    }

    private mutating func handle(_ handler: Handler, _ sample: Sample) {
        let time = sample.time, raw = sample.raw
        let scheduling = wantsSched || wantsOffCPU
        switch handler {
        case .switchTask(let prevPid, let prevState, let nextPid):
            guard scheduling, let prev = prevPid.read(raw), let state = prevState.read(raw), let next = nextPid.read(raw) else { return }
            switchTask(prev: Int32(truncatingIfNeeded: prev), state: state, next: Int32(truncatingIfNeeded: next), at: time)
        case .wakeup(let pidField, let new):
            guard scheduling, let pid = pidField.read(raw), pid > 0 else { return }
            let s = slot(Int32(truncatingIfNeeded: pid))
            if followsTasks, !states[s].followed {
                // Another process's wakeup, from every CPU; a new thread of a followed one is followed from here.
                guard new, states[slot(sample.tid)].followed else { return }
                states[s].followed = true
            }
            if states[s].runnableSince == nil { states[s].runnableSince = time }
            if states[s].blockedSince != nil, states[s].woken == nil {
                states[s].woken = (time, sample.tid)
                if wakerEventName == "sched:sched_wakeup" { states[s].waker = (time, sample.tid) }
            }
        case .waking(let pidField):
            guard scheduling, let pid = pidField.read(raw), pid > 0 else { return }
            let s = slot(Int32(truncatingIfNeeded: pid))
            if followsTasks, !states[s].followed { return }
            if states[s].blockedSince != nil, states[s].waker == nil { states[s].waker = (time, sample.tid) }
        case .syscallEnter(let idField):
            guard wantsSyscall, let id = idField.read(raw) else { return }
            let s = slot(sample.tid)
            if let open = states[s].syscall { finishLater(s, syscallKey(open.id)) }
            states[s].syscall = (id, time)
        case .syscallExit(let idField, let retField):
            guard wantsSyscall, var id = idField.read(raw) else { return }
            let s = slot(sample.tid)
            // An exit reports -1 when the call's number was rewritten on the way (x86-64's uretprobe trampoline
            // syscall, seccomp): it ends whatever call the thread was in.
            if id == -1, let open = states[s].syscall { id = open.id }
            if id == uretprobeSyscall, states[s].syscall?.id == id {
                states[s].syscall = nil
                return
            }
            let key = syscallKey(id)
            guard let open = states[s].syscall, open.id == id, open.time <= time else {
                states[s].syscall = nil
                finishLater(s, key)
                return
            }
            states[s].syscall = nil
            add(key, slot: s, time - open.time, at: time)
            if let ret = retField.read(raw), ret < 0 {
                makeRow(s, key)
                states[s].rows[key]!.errors += 1
            }
        case .functionEntry(let key):
            guard wantsFunction else { return }
            let s = slot(sample.tid)
            if states[s].calls.count >= LatencyAnalysis.maximumDepth { finishLater(s, states[s].calls.removeFirst().key) }
            states[s].calls.append((key, time))
        case .functionReturn(let key):
            guard wantsFunction else { return }
            let s = slot(sample.tid)
            guard let at = states[s].calls.lastIndex(where: { $0.key == key }) else {
                finishLater(s, key)
                return
            }
            // Entries above the matching one never returned through their uretprobe (longjmp, a probe added late).
            for lost in states[s].calls[(at + 1)...] { finishLater(s, lost.key) }
            let start = states[s].calls[at].time
            states[s].calls.removeSubrange(at...)
            if start <= time { add(key, slot: s, time - start, at: time) }
        }
    }

    /// Events were lost: any wait or call under way may have lost its end (or its start was followed by a lost
    /// restart), so none of them is measured; the threads they belong to are counted.
    private mutating func dropPending(before time: UInt64) {
        for s in states.indices where states[s].isPending || states[s].woken != nil {
            if states[s].isPending { threadsAffectedByLoss.insert(states[s].tid) }
            states[s].runnableSince = nil
            states[s].blockedSince = nil
            states[s].woken = nil
            states[s].waker = nil
            states[s].syscall = nil
            states[s].calls.removeAll()
        }
    }

    /// A thread seen running (in an event's context) while it should be waiting: its switch-in was not reported.
    private mutating func running(_ s: Int, at time: UInt64) {
        guard states[s].runnableSince != nil || states[s].blockedSince != nil else { return }
        missedSwitchIns += 1
        if states[s].runnableSince != nil {
            states[s].runnableSince = nil
            finishLater(s, LatencyAnalysis.runqueueID)
        }
        if let start = states[s].blockedSince {
            states[s].blockedSince = nil
            let end = states[s].woken?.time ?? time
            if wantsOffCPU, start <= end { addOffCPU(slot: s, from: start, to: end) }
        }
        states[s].woken = nil
        states[s].waker = nil
    }

    private mutating func switchTask(prev: Int32, state: Int64, next: Int32, at time: UInt64) {
        if prev > 0 { switchedOut(slot(prev), runnable: state & 0xff == 0, at: time) }
        if next > 0 { switchedIn(slot(next), at: time) }
    }

    /// A followed task's context switch; its switch-out only where no `sched_switch` reported it.
    private mutating func switched(_ change: SwitchRecord) {
        guard (wantsSched || wantsOffCPU), change.tid > 0 else { return }
        let s = slot(change.tid)
        states[s].followed = true
        if !change.isOut {
            switchedIn(s, at: change.time)
        } else if !hasSwitchTracepoint {
            switchedOut(s, runnable: change.preempted, at: change.time)
        }
    }

    private mutating func switchedOut(_ p: Int, runnable: Bool, at time: UInt64) {
        if followsTasks { states[p].followed = true }
        if runnable {
            states[p].runnableSince = time
            if preemptionIsOffCPU {
                states[p].blockedSince = time
                states[p].woken = nil
                states[p].waker = nil
            }
        } else {
            states[p].runnableSince = nil
            states[p].blockedSince = time
            states[p].woken = nil
            states[p].waker = nil
        }
    }

    private mutating func switchedIn(_ n: Int, at time: UInt64) {
        if let start = states[n].runnableSince {
            states[n].runnableSince = nil
            if start <= time, wantsSched { add(LatencyAnalysis.runqueueID, slot: n, time - start, at: time) }
        }
        if let start = states[n].blockedSince {
            states[n].blockedSince = nil
            if start <= time, wantsOffCPU { addOffCPU(slot: n, from: start, to: time) }
        }
        states[n].woken = nil
        states[n].waker = nil
    }

    private mutating func addOffCPU(slot s: Int, from start: UInt64, to end: UInt64) {
        add(LatencyAnalysis.offCPUID, slot: s, end - start, at: end)
        if collectsBlocks, end - start >= minimumNs {
            let waker = states[s].waker
            blocks[SampleKey(tid: states[s].tid, time: start)] = OffCPUWait(ns: end - start, wakerTID: waker?.by, wakeTime: waker?.time)
        }
    }

    private mutating func add(_ key: Int, slot s: Int, _ ns: UInt64, at time: UInt64) {
        guard ns >= minimumNs else { return }
        makeRow(s, key)
        states[s].rows[key]!.record(ns)
        if heatmap?.kind == keys[key].kind, heatmapIncludes(states[s].tid) { heatmap?.add(time: time, ns: ns) }
    }

    private mutating func finishLater(_ s: Int, _ key: Int) {
        guard wants(keys[key].kind) else { return }
        makeRow(s, key)
        states[s].rows[key]!.unfinished += 1
    }

    private mutating func makeRow(_ s: Int, _ key: Int) {
        if states[s].rows.count <= key { states[s].rows += repeatElement(nil, count: key + 1 - states[s].rows.count) }
        if states[s].rows[key] == nil { states[s].rows[key] = LatencyStats() }
    }
}

/// A measured off-CPU wait: how long, and the thread that woke it (its `sched_waking`, or `sched_wakeup`, sample), if one did.
public struct OffCPUWait: Sendable {
    public var ns: UInt64
    public var wakerTID: Int32?
    public var wakeTime: UInt64?
}

public enum LatencyError: Error, CustomStringConvertible {
    case missingEvents(LatencyKind)

    public var description: String {
        switch self {
        case .missingEvents(.sched):
            return "the recording has no scheduler switches and wakeups to measure run-queue delay from; record them with 'ember latency --sched -- CMD' (or perf sched record)"
        case .missingEvents(.offcpu):
            return "the recording has no sched:sched_switch events; record them with 'ember latency --offcpu -- CMD' (or perf sched record)"
        case .missingEvents(.syscall):
            return "the recording has no raw_syscalls:sys_enter/sys_exit events; record them with 'ember latency --syscalls -- CMD'"
        case .missingEvents(.function):
            return "the recording has no uprobe/uretprobe pair; record one with 'ember latency --func BINARY:SYMBOL -- CMD'"
        case .missingEvents(.kfunction):
            return "the recording has no kprobe/kretprobe pair; record one with 'ember latency --kfunc FUNCTION -- CMD'"
        }
    }
}
