import Histogram

/// What a latency row measures.
public enum LatencyKind: String, Sendable, CaseIterable, Comparable {
    /// Run-queue delay: runnable (woken, or preempted) until switched in.
    case sched
    /// Off-CPU time: blocked (switched out not runnable) until switched in again.
    case offcpu
    /// A system call, from `raw_syscalls:sys_enter` to `sys_exit`.
    case syscall
    /// A function, from a uprobe at its entry to the uretprobe at its return.
    case function
    /// A kernel function, from a kprobe at its entry to the kretprobe at its return (`--kfunc`).
    case kfunction

    public static func < (a: LatencyKind, b: LatencyKind) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// One row's identity within a thread or process: the kind and what it names (`runqueue`, `offcpu`, a syscall's
/// name, `BINARY:SYMBOL`).
public struct LatencyKey: Hashable, Sendable, Comparable {
    public var kind: LatencyKind
    public var name: String

    public static func < (a: LatencyKey, b: LatencyKey) -> Bool { a.kind != b.kind ? a.kind < b.kind : a.name < b.name }
}

/// The durations of one kind of wait for one thread or process: exact count, total and maximum, and an HDR
/// histogram (three significant digits) for the percentiles, so memory stays fixed however many events arrive.
public struct LatencyStats: Sendable {
    public private(set) var count: UInt64 = 0
    public private(set) var totalNs: UInt64 = 0
    public private(set) var maxNs: UInt64 = 0
    /// Waits that started but never ended within the recording (the thread exited, the recording stopped), or
    /// ended without a start in it.
    public var unfinished: UInt64 = 0
    /// Calls that failed: system calls that returned a negative value (-errno).
    public var errors: UInt64 = 0
    private var histogram: Histogram<UInt32>

    public init() {
        // One second to start with, grown as longer waits arrive: about 80 KB a row.
        histogram = Histogram(lowestDiscernibleValue: 1, highestTrackableValue: 1_000_000_000, numberOfSignificantValueDigits: .three)
        histogram.autoResize = true
    }

    /// Waits measured elsewhere (in the kernel, by a BPF program): the exact count, total and maximum, and the
    /// histogram from cells of a representative value and how many waits it stands for.
    public init(count: UInt64, totalNs: UInt64, maxNs: UInt64, cells: [(ns: UInt64, count: UInt64)]) {
        self.init()
        self.count = count
        self.totalNs = totalNs
        self.maxNs = maxNs
        for cell in cells {
            var left = cell.count
            while left > 0 {
                let n = min(left, UInt64(UInt32.max))
                _ = histogram.record(min(max(cell.ns, 1), LatencyStats.largestTracked), count: UInt32(n))
                left -= n
            }
        }
    }

    public mutating func record(_ ns: UInt64) {
        count += 1
        totalNs &+= ns
        maxNs = max(maxNs, ns)
        _ = histogram.record(min(max(ns, 1), LatencyStats.largestTracked))
    }

    /// The histogram tracks values up to 2^61 ns (73 years) and traps past its range: longer ones (only a corrupt
    /// recording has them) count there; `maxNs` stays exact.
    static let largestTracked: UInt64 = 1 << 61

    public mutating func add(_ other: LatencyStats) {
        count += other.count
        totalNs &+= other.totalNs
        maxNs = max(maxNs, other.maxNs)
        unfinished += other.unfinished
        errors += other.errors
        histogram.add(other.histogram)
    }

    /// The value at `percentile` (0 to 100), within the histogram's 0.1%; the exact maximum at 100.
    public func percentile(_ percentile: Double) -> UInt64 {
        count == 0 ? 0 : min(histogram.valueAtPercentile(percentile), maxNs)
    }

    public var averageNs: UInt64 { count == 0 ? 0 : totalNs / count }

    /// Log2 buckets in microseconds, as BCC prints them (0-1, 2-3, 4-7, ... µs): each bucket's range in ns and
    /// its count, from the first to the last non-empty one.
    public var log2Buckets: [(lowNs: UInt64, highNs: UInt64, count: UInt64)] {
        guard count > 0 else { return [] }
        var out: [(UInt64, UInt64, UInt64)] = []
        var low: UInt64 = 0, high: UInt64 = 1
        // In ns a bucket's ends pass 2^64 near 584 years: the last bucket then ends at the largest value.
        func ns(_ us: UInt64, plus: UInt64) -> UInt64 {
            let (v, overflow) = us.multipliedReportingOverflow(by: 1000)
            return overflow || v > UInt64.max - plus ? UInt64.max : v + plus
        }
        while low <= maxNs / 1000 {
            let from = ns(low, plus: 0), to = ns(high, plus: 999)
            // The histogram counts only within what it tracks (the longest waits were recorded at its top).
            let top = histogram.highestTrackableValue
            out.append((from, to, from <= top ? histogram.count(within: from...min(to, top)) : 0))
            guard to < UInt64.max, high < UInt64.max / 2 else { break }
            low = high + 1
            high = high * 2 + 1
        }
        let first = out.firstIndex { $0.2 > 0 } ?? 0
        return Array(out[first...])
    }
}
