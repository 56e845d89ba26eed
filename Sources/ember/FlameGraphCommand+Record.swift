import EmberKernel
import EmberLatency
import EmberRecord
import EmberStacks
#if canImport(Glibc)
import Glibc
#endif

/// `ember flamegraph -- CMD`: a first flame graph in one command.
extension FlameGraphCommand {
    /// Records the command into a scratch file (frame-pointer stacks at 999 Hz, their leaves repaired; with
    /// --off-cpu, its time off the CPU too; with --off-cpu-only, the stacks it blocks in alone, as `ember latency
    /// --offcpu` records them) and returns its path and the command's exit status.
    func recordCommand(_ argv: [String]) throws -> (path: String, status: Int32) {
        let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        let path = "\(directory)/ember-flamegraph-\(getpid()).data"
        var options = RecordOptions(target: .command(argv))
        options.output = path
        options.progress = false
        options.commandLine = ["ember"] + CommandLine.arguments.dropFirst()
        let summary: RecordSummary
        if fold.offcpu {
            var plan = LatencyPlan(kinds: [.offcpu])
            plan.callGraph = .framePointer
            plan.wakers = fold.wakers
            do {
                options = try plan.recordOptions(options).options
            } catch {
                throw Diagnostics.fail("\(error)")
            }
            options.repairsLeaves = true
            summary = try Record.record(options, as: "latency")
        } else {
            if offCPU { options = try OffCPUTime.wallClock(options) } else { options.callGraph = .framePointer }
            options.repairsLeaves = true
            summary = try Record.record(options)
        }
        return (path, summary.exitStatus)
    }

    /// The `count` functions with the most time of their own (the leaves of the stacks; with `userLeaves`, the
    /// innermost frame outside the kernel, where a thread blocked), as lines to print.
    static func hottest(_ profile: FoldedProfile, userLeaves: Bool = false, count: Int = 5) -> [String] {
        var own: [String: UInt64] = [:]
        var total: UInt64 = 0
        for (stack, weight) in profile.weights {
            var frames = stack.split(separator: ";")
            // A wall-clock profile's off-CPU stack: where it blocked, named as such.
            let blocked = frames.last.map { $0 == Collapser.offCPUFrame } ?? false
            if blocked { frames.removeLast() }
            let leaf = (userLeaves || blocked ? frames.last { profile.kinds[String($0)] != .kernel } : frames.last)
                .map { String($0) + (blocked ? " (off-CPU)" : "") } ?? stack
            own[leaf, default: 0] = own[leaf, default: 0].saturatingAdd(weight)
            total = total.saturatingAdd(weight)
        }
        guard total > 0 else { return [] }
        return own.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(count).map { name, weight in
            let tenths = Int((Double(weight) / Double(total) * 1000).rounded())
            return "\(tenths / 10).\(tenths % 10)%".leftAligned(8) + name
        }
    }
}

extension String {
    fileprivate func leftAligned(_ width: Int) -> String { count >= width ? self + " " : String(repeating: " ", count: width - count) + self + " " }
}
