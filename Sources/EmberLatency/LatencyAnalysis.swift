import EmberPerfData
import EmberStacks

/// Waits and calls paired per thread, in time order across CPUs (the replay merges the rings by time):
/// - run-queue delay and off-CPU time from `sched:sched_switch`, `sched:sched_wakeup` and `sched_wakeup_new`. A
///   thread becomes runnable at a wakeup, or at a switch that leaves it runnable (`prev_state & 0xff == 0`:
///   preempted); it blocks at a switch that leaves it in any other state; switched in, both end;
/// - system calls from `raw_syscalls:sys_enter` to `sys_exit` of the same number;
/// - functions from a `uprobe:` at entry to the `uretprobe:` of the same location, through a per-thread stack so
///   that recursion and nesting pair correctly.
/// A start without an end, or an end without a start, is counted as unfinished, never as a duration.
public struct LatencyAnalysis {
    /// The tracepoints each kind records.
    public static func events(for kind: LatencyKind) -> [String] {
        switch kind {
        case .sched, .offcpu: return ["sched:sched_switch", "sched:sched_wakeup", "sched:sched_wakeup_new"]
        case .syscall: return ["raw_syscalls:sys_enter", "raw_syscalls:sys_exit"]
        case .function: return []
        }
    }

    private enum Handler {
        case switchTask(prevPid: TracepointFormat.IntegerField, prevState: TracepointFormat.IntegerField, nextPid: TracepointFormat.IntegerField)
        case wakeup(pid: TracepointFormat.IntegerField)
        case syscallEnter(id: TracepointFormat.IntegerField)
        case syscallExit(id: TracepointFormat.IntegerField, ret: TracepointFormat.IntegerField)
        /// A function's entry and return: its row's key id.
        case functionEntry(Int)
        case functionReturn(Int)
    }

    /// A per-thread stack of function entries deeper than this is cut (and counted as unfinished).
    static let maximumDepth = 1024

    private var runnableSince: [Int32: UInt64] = [:]
    private var blockedSince: [Int32: UInt64] = [:]
    /// When a blocked thread was woken: where its off-CPU time ends if its switch-in never shows.
    private var wokenAt: [Int32: UInt64] = [:]
    /// Waits whose switch-in the kernel did not report (seen here for switches out of an idle CPU): off-CPU time
    /// then ends at the wake-up, and the run-queue delay is counted as unfinished.
    public private(set) var missedSwitchIns: UInt64 = 0
    /// The heat map of one kind, for the threads `heatmapIncludes` accepts (asked as each wait ends).
    public var heatmap: LatencyHeatmap?
    public var heatmapIncludes: (Int32) -> Bool = { _ in true }
    /// With `collectsBlocks`: each measured off-CPU wait by the switch that started it, for off-CPU stacks.
    public var collectsBlocks = false
    public private(set) var blocks: [OffCPUBlock: UInt64] = [:]
    /// Threads with a wait or call under way when events were lost: those were dropped, not measured.
    public private(set) var threadsAffectedByLoss = Set<Int32>()
    private var inSyscall: [Int32: (id: Int64, time: UInt64)] = [:]
    private var calls: [Int32: [(key: Int, time: UInt64)]] = [:]
    /// Rows by thread, keyed by an interned `LatencyKey` (hashing a name per event was a third of the time).
    private var rows: [Int32: [Int: LatencyStats]] = [:]
    private var keys: [LatencyKey] = [LatencyAnalysis.runqueue, LatencyAnalysis.offCPU]
    private var keyIDs: [LatencyKey: Int] = [LatencyAnalysis.runqueue: 0, LatencyAnalysis.offCPU: 1]
    private var syscallKeys: [Int64: Int] = [:]
    private static let runqueue = LatencyKey(kind: .sched, name: "runqueue"), offCPU = LatencyKey(kind: .offcpu, name: "offcpu")
    private static let runqueueID = 0, offCPUID = 1

    /// Each thread's rows.
    public var threads: [Int32: [LatencyKey: LatencyStats]] {
        rows.mapValues { byID in Dictionary(uniqueKeysWithValues: byID.map { (keys[$0.key], $0.value) }) }
    }

    private mutating func keyID(_ key: LatencyKey) -> Int {
        if let id = keyIDs[key] { return id }
        keys.append(key)
        keyIDs[key] = keys.count - 1
        return keys.count - 1
    }

    private mutating func syscallKey(_ id: Int64) -> Int {
        if let k = syscallKeys[id] { return k }
        let k = keyID(LatencyKey(kind: .syscall, name: SyscallNames.name(id, arch: arch)))
        syscallKeys[id] = k
        return k
    }
    /// The time of the first and the last event read (perf's clock, ns).
    public private(set) var firstTime: UInt64?
    public private(set) var lastTime: UInt64 = 0
    private let kinds: Set<LatencyKind>
    private let minimumNs: UInt64
    private var arch: String?

    /// The kinds asked for, as flags: a Set of a String-backed enum hashes a string per lookup.
    private let wantsSched: Bool, wantsOffCPU: Bool, wantsSyscall: Bool, wantsFunction: Bool

    public init(kinds: Set<LatencyKind>, minimumNs: UInt64 = 0) {
        self.kinds = kinds
        self.minimumNs = minimumNs
        wantsSched = kinds.contains(.sched)
        wantsOffCPU = kinds.contains(.offcpu)
        wantsSyscall = kinds.contains(.syscall)
        wantsFunction = kinds.contains(.function)
    }

    private func wants(_ kind: LatencyKind) -> Bool {
        switch kind {
        case .sched: return wantsSched
        case .offcpu: return wantsOffCPU
        case .syscall: return wantsSyscall
        case .function: return wantsFunction
        }
    }

    /// Reads every event of `replay` the chosen kinds need; throws when the recording has none for a kind.
    public mutating func read(_ replay: Replay) throws {
        let file = replay.file
        arch = file.string(.arch)
        let handlers = try handlers(file)
        replay.forEachSample(event: nil, lost: { time in dropPending(before: time) }) { sample, index in
            guard let handler = handlers[index] else { return }
            if firstTime == nil { firstTime = sample.time }
            lastTime = max(lastTime, sample.time)
            // Every event runs in some thread's context: that thread is on a CPU now.
            if sample.tid > 0 { running(sample.tid, at: sample.time) }
            handle(handler, sample)
        }
        for tid in runnableSince.keys { finishLater(tid, LatencyAnalysis.runqueueID) }
        for tid in blockedSince.keys { finishLater(tid, LatencyAnalysis.offCPUID) }
        for (tid, call) in inSyscall { finishLater(tid, syscallKey(call.id)) }
        for (tid, stack) in calls { for call in stack { finishLater(tid, call.key) } }
    }

    /// What to do with each event of the file, by event index; throws when a kind has none of its events.
    private mutating func handlers(_ file: PerfDataFile) throws -> [Handler?] {
        let formats = file.section(.tracingData).map(TracingData.formats) ?? [:]
        var out = [Handler?](repeating: nil, count: file.events.count)
        for (i, e) in file.events.enumerated() {
            if e.attr.type == .tracepoint, let f = formats[e.attr.config] {
                func field(_ name: String) -> TracepointFormat.IntegerField? { f.fields.first { $0.name == name }?.integer }
                switch (f.system, f.name) {
                case ("sched", "sched_switch"):
                    if let p = field("prev_pid"), let s = field("prev_state"), let n = field("next_pid") {
                        out[i] = .switchTask(prevPid: p, prevState: s, nextPid: n)
                    }
                case ("sched", "sched_wakeup"), ("sched", "sched_wakeup_new"):
                    if let p = field("pid") { out[i] = .wakeup(pid: p) }
                case ("raw_syscalls", "sys_enter"):
                    if let id = field("id") { out[i] = .syscallEnter(id: id) }
                case ("raw_syscalls", "sys_exit"):
                    if let id = field("id"), let ret = field("ret") { out[i] = .syscallExit(id: id, ret: ret) }
                default: break
                }
            } else if e.name.hasPrefix("uprobe:") {
                out[i] = .functionEntry(keyID(LatencyKey(kind: .function, name: String(e.name.dropFirst(7)))))
            } else if e.name.hasPrefix("uretprobe:") {
                out[i] = .functionReturn(keyID(LatencyKey(kind: .function, name: String(e.name.dropFirst(10)))))
            }
        }
        for kind in kinds.sorted() {
            let present = out.contains { handler in
                switch (kind, handler) {
                case (.sched, .switchTask?), (.offcpu, .switchTask?), (.syscall, .syscallEnter?), (.function, .functionReturn?): return true
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
        case .wakeup(let pidField):
            guard scheduling, let pid = pidField.read(raw), pid > 0 else { return }
            let tid = Int32(truncatingIfNeeded: pid)
            if runnableSince[tid] == nil { runnableSince[tid] = time }
            if blockedSince[tid] != nil, wokenAt[tid] == nil { wokenAt[tid] = time }
        case .syscallEnter(let idField):
            guard wantsSyscall, let id = idField.read(raw) else { return }
            if let open = inSyscall[sample.tid] { finishLater(sample.tid, syscallKey(open.id)) }
            inSyscall[sample.tid] = (id, time)
        case .syscallExit(let idField, let retField):
            guard wantsSyscall, var id = idField.read(raw) else { return }
            // An exit reports -1 when the call's number was rewritten on the way (x86-64's uretprobe trampoline
            // syscall, seccomp): it ends whatever call the thread was in.
            if id == -1, let open = inSyscall[sample.tid] { id = open.id }
            let key = syscallKey(id)
            guard let open = inSyscall.removeValue(forKey: sample.tid), open.id == id, open.time <= time else {
                finishLater(sample.tid, key)
                return
            }
            add(key, tid: sample.tid, time - open.time, at: time)
            if let ret = retField.read(raw), ret < 0 { rows[sample.tid, default: [:]][key, default: LatencyStats()].errors += 1 }
        case .functionEntry(let key):
            guard wantsFunction else { return }
            var stack = calls[sample.tid, default: []]
            if stack.count >= LatencyAnalysis.maximumDepth { finishLater(sample.tid, stack.removeFirst().key) }
            stack.append((key, time))
            calls[sample.tid] = stack
        case .functionReturn(let key):
            guard wantsFunction else { return }
            guard var stack = calls[sample.tid], let at = stack.lastIndex(where: { $0.key == key }) else {
                finishLater(sample.tid, key)
                return
            }
            // Entries above the matching one never returned through their uretprobe (longjmp, a probe added late).
            for lost in stack[(at + 1)...] { finishLater(sample.tid, lost.key) }
            let start = stack[at].time
            stack.removeSubrange(at...)
            calls[sample.tid] = stack.isEmpty ? nil : stack
            if start <= time { add(key, tid: sample.tid, time - start, at: time) }
        }
    }

    /// Events were lost: any wait or call under way may have lost its end (or its start was followed by a lost
    /// restart), so none of them is measured; the threads they belong to are counted.
    private mutating func dropPending(before time: UInt64) {
        var affected = Set<Int32>()
        affected.formUnion(runnableSince.keys)
        affected.formUnion(blockedSince.keys)
        affected.formUnion(inSyscall.keys)
        affected.formUnion(calls.keys)
        threadsAffectedByLoss.formUnion(affected)
        runnableSince.removeAll()
        blockedSince.removeAll()
        wokenAt.removeAll()
        inSyscall.removeAll()
        calls.removeAll()
    }

    /// A thread seen running (in an event's context) while it should be waiting: its switch-in was not reported.
    private mutating func running(_ tid: Int32, at time: UInt64) {
        guard runnableSince[tid] != nil || blockedSince[tid] != nil else { return }
        missedSwitchIns += 1
        if runnableSince.removeValue(forKey: tid) != nil { finishLater(tid, LatencyAnalysis.runqueueID) }
        if let start = blockedSince.removeValue(forKey: tid), wantsOffCPU {
            let end = wokenAt[tid] ?? time
            if start <= end { addOffCPU(tid: tid, from: start, to: end) }
        }
        wokenAt[tid] = nil
    }

    private mutating func switchTask(prev: Int32, state: Int64, next: Int32, at time: UInt64) {
        if prev > 0 {
            if state & 0xff == 0 {
                runnableSince[prev] = time
            } else {
                runnableSince[prev] = nil
                blockedSince[prev] = time
                wokenAt[prev] = nil
            }
        }
        guard next > 0 else { return }
        if let start = runnableSince.removeValue(forKey: next), start <= time, wantsSched {
            add(LatencyAnalysis.runqueueID, tid: next, time - start, at: time)
        }
        if let start = blockedSince.removeValue(forKey: next), start <= time, wantsOffCPU {
            addOffCPU(tid: next, from: start, to: time)
        }
        wokenAt[next] = nil
    }

    private mutating func addOffCPU(tid: Int32, from start: UInt64, to end: UInt64) {
        add(LatencyAnalysis.offCPUID, tid: tid, end - start, at: end)
        if collectsBlocks, end - start >= minimumNs { blocks[OffCPUBlock(tid: tid, time: start)] = end - start }
    }

    private mutating func add(_ key: Int, tid: Int32, _ ns: UInt64, at time: UInt64) {
        guard ns >= minimumNs else { return }
        rows[tid, default: [:]][key, default: LatencyStats()].record(ns)
        if heatmap?.kind == keys[key].kind, heatmapIncludes(tid) { heatmap?.add(time: time, ns: ns) }
    }

    private mutating func finishLater(_ tid: Int32, _ key: Int) {
        guard wants(keys[key].kind) else { return }
        rows[tid, default: [:]][key, default: LatencyStats()].unfinished += 1
    }
}

/// The `sched_switch` that started an off-CPU wait: its thread and time, which its sample carries too.
public struct OffCPUBlock: Hashable, Sendable {
    public var tid: Int32
    public var time: UInt64
    public init(tid: Int32, time: UInt64) {
        self.tid = tid
        self.time = time
    }
}

public enum LatencyError: Error, CustomStringConvertible {
    case missingEvents(LatencyKind)

    public var description: String {
        switch self {
        case .missingEvents(.sched), .missingEvents(.offcpu):
            return "the recording has no sched:sched_switch events; record them with 'ember latency -- CMD' (or perf sched record)"
        case .missingEvents(.syscall):
            return "the recording has no raw_syscalls:sys_enter/sys_exit events; record them with 'ember latency --syscalls -- CMD'"
        case .missingEvents(.function):
            return "the recording has no uprobe/uretprobe pair; record one with 'ember latency --func BINARY:SYMBOL -- CMD'"
        }
    }
}
