/// What a uretprobe's trampoline stands for. While a probed function runs, the kernel keeps its return address and
/// puts the address of its trampoline page (`[uprobes]`) on the stack in its place, so a DWARF unwind through the
/// function finds the trampoline where its caller should be (perf then prints `7fffffffdfff [unknown]` and loses the
/// caller). The probe's own hit at the return reports the real address: here, each thread's returns in time order,
/// so that the `k`-th trampoline on a stack sampled at time `t` is the `k`-th return of its thread after `t`.
public struct UprobeReturns: Sendable {
    private var byThread: [Int32: (times: [UInt64], addresses: [UInt64])] = [:]

    /// `returns`: every uretprobe hit of the recording (its thread, time and IP, the address returned to).
    public init(_ returns: [(tid: Int32, time: UInt64, address: UInt64)]) {
        for r in returns.sorted(by: { ($0.tid, $0.time) < ($1.tid, $1.time) }) {
            byThread[r.tid, default: ([], [])].times.append(r.time)
            byThread[r.tid, default: ([], [])].addresses.append(r.address)
        }
    }

    public var isEmpty: Bool { byThread.isEmpty }

    /// The return address the `index`-th trampoline (0: the innermost) on thread `tid`'s stack at `time` replaced;
    /// nil when the recording holds no such return (it came after the recording ended, or was lost).
    public func address(tid: Int32, time: UInt64, index: Int) -> UInt64? {
        guard let returns = byThread[tid] else { return nil }
        var low = 0, high = returns.times.count
        while low < high {
            let mid = (low + high) / 2
            if returns.times[mid] <= time { low = mid + 1 } else { high = mid }
        }
        let at = low + index
        return at < returns.addresses.count ? returns.addresses[at] : nil
    }
}
