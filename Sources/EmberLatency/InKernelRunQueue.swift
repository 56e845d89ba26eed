import CBPF
import EmberBPF
import EmberKernel
import EmberRecord
import EmberSession
#if canImport(Glibc)
import Glibc
#endif

/// Run-queue delay measured in the kernel (`ember latency --sched` when it records nothing to a file): the
/// `runqueue` BPF program follows the target's processes (their children join at fork), times each wait from
/// runnable to running as `LatencyAnalysis` does from the sched events, and keeps per thread the exact count,
/// total and maximum and a histogram of 32 cells per power of two. Nothing crosses to user space until the end,
/// so the machine pays for a map update per switch, not for a ring record and its copy.
public struct InKernelRunQueue {
    public struct Result {
        public var threads: [Int32: [LatencyKey: LatencyStats]] = [:]
        /// The threads' processes and names, as the program last saw them.
        public var model = ProcessModel()
        public var durationNs: UInt64 = 0
        /// Waits not measured because a map was full (counted by the program).
        public var dropped: UInt64 = 0
        public var exitStatus: Int32 = 0
    }

    /// Loads the program (throws `BPFError` when it cannot: the caller records events instead), starts the command
    /// if there is one, and measures until the command exits, the processes end, `duration` passes or a signal
    /// (SIGINT, SIGTERM, SIGHUP) arrives.
    public static func measure(_ target: RecordOptions.Target, duration: Double?) throws -> Result {
        let object = try BPFObject(.runqueue)
        let targets = try object.map("targets")
        let guardSignals = SignalGuard()
        defer { guardSignals.restore() }
        var workload: Workload?
        switch target {
        case .command(let argv):
            workload = try Workload(arguments: argv)
        case .allCPUs(let argv):
            try targets.update(UInt32(0), UInt8(1))
            workload = try argv.map { try Workload(arguments: $0) }
        case .processes(let pids):
            for pid in pids {
                guard ProcScanner.exists(pid) else { throw RecordError.noSuchProcess(pid) }
                try targets.update(UInt32(bitPattern: pid), UInt8(1))
            }
        }
        var result = Result()
        do {
            if let workload, case .command = target { try targets.update(UInt32(bitPattern: workload.pid), UInt8(1)) }
            try object.attach()
        } catch {
            workload?.abandon()
            throw error
        }
        let start = monotonicSeconds()
        try workload?.start()
        wait(workload: workload, target: target, deadline: duration.map { start + $0 })
        object.detach()
        result.durationNs = UInt64((monotonicSeconds() - start) * 1e9)
        if let workload {
            workload.terminate()
            result.exitStatus = workload.waitForExit()
        }
        try read(object, into: &result)
        return result
    }

    private static func wait(workload: Workload?, target: RecordOptions.Target, deadline: Double?) {
        var signals = sigset_t()
        sigemptyset(&signals)
        for s in [SIGINT, SIGTERM, SIGHUP, SIGCHLD] { sigaddset(&signals, s) }
        while true {
            var tick = timespec(tv_sec: 0, tv_nsec: 100_000_000)
            let signal = sigtimedwait(&signals, nil, &tick)
            if signal == SIGINT || signal == SIGTERM || signal == SIGHUP { return }
            if let workload, workload.pollExit() != nil { return }
            if let deadline, monotonicSeconds() >= deadline { return }
            if case .processes(let pids) = target, !pids.contains(where: ProcScanner.exists) { return }
        }
    }

    private static func read(_ object: BPFObject, into result: inout Result) throws {
        var cells: [UInt32: [(ns: UInt64, count: UInt64)]] = [:]
        for (key, count) in try object.map("slots").entries(ember_rq_slot.self, UInt64.self) {
            cells[key.tid, default: []].append((value(ofSlot: key.slot), count))
        }
        let key = LatencyAnalysis.runqueue
        for (tid, row) in try object.map("threads").entries(UInt32.self, ember_rq_thread.self) {
            let thread = Int32(bitPattern: tid)
            result.model.learn(tid: thread, pid: Int32(bitPattern: row.tgid), comm: name(row.comm))
            result.threads[thread, default: [:]][key] = LatencyStats(count: row.count, totalNs: row.total_ns, maxNs: row.max_ns, cells: cells[tid] ?? [])
        }
        // Threads still waiting for a CPU when measuring stopped.
        for (tid, start) in try object.map("started").entries(UInt32.self, ember_rq_start.self) where start.ns != 0 {
            let thread = Int32(bitPattern: tid)
            if result.model.thread(thread) == nil { result.model.learn(tid: thread, pid: Int32(bitPattern: start.tgid), comm: ":\(thread)") }
            result.threads[thread, default: [:]][key, default: LatencyStats()].unfinished += 1
        }
        for (_, n) in try object.map("dropped").entries(UInt32.self, UInt64.self) { result.dropped += n }
    }

    /// The value a histogram cell stands for: itself below `EMBER_RQ_EXACT` ns, else the middle of its cell.
    static func value(ofSlot slot: UInt32) -> UInt64 {
        let exact = UInt32(EMBER_RQ_EXACT), perPower = UInt32(EMBER_RQ_SUBSLOTS), bits = UInt64(EMBER_RQ_SUBSLOT_BITS)
        guard slot >= exact else { return UInt64(slot) }
        let power = UInt64((slot - exact) / perPower) + 6, sub = UInt64((slot - exact) % perPower)
        let width: UInt64 = 1 << (power - bits)
        let low = (UInt64(perPower) + sub) << (power - bits)
        return low + (width - 1) / 2
    }

    private static func name(_ comm: (CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar)) -> String {
        withUnsafeBytes(of: comm) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
