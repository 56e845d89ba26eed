import EmberPerfData
import EmberReplay
import EmberSession
import EmberSymbols

/// Folds a recording's samples into stacks with stackcollapse-perf.pl's conventions: the process name first
/// (spaces as `_`), then outermost to leaf; symbol offsets dropped; an unresolved frame named after its binary
/// (`[libc.so.6]`) or `[unknown]`; inlined functions as frames of their own marked `_[i]`; weight the sample
/// period (or 1 with `count`). Swift names keep their argument labels (`sortMany(_:)`), which is their short form.
public struct Collapser {
    public enum Root: Sendable { case comm, pid, tid }

    public var root: Root = .comm
    public var countSamples = false
    /// The event to fold; nil folds the first event.
    public var eventName: String?
    /// Each sample's weight instead of its period; nil leaves the sample out (off-CPU stacks weigh by the time
    /// their thread then spent blocked).
    public var weight: ((Sample) -> UInt64?)?
    /// Off-CPU stacks with their wakers, as BCC's offwaketime folds them: a blocked stack (keyed by its sample's
    /// thread and time) goes on with `--`, then the stack of the `wakeupEventName` sample that woke it (keyed the
    /// same way), leaf first, and the waking thread's name on top.
    public var wakers: [SampleKey: SampleKey] = [:]
    public var wakeupEventName = "sched:sched_wakeup"
    /// A wall-clock profile (`record --off-cpu`): beside the samples of `eventName`, the off-CPU stacks, each under
    /// a last frame `[off-cpu]`.
    public var offCPU: OffCPUStacks?
    /// The frame on top of every off-CPU stack of a wall-clock profile.
    public static let offCPUFrame = "[off-cpu]"

    public init() {}

    public func collapse(_ replay: Replay) throws -> FoldedProfile {
        var first = UInt64.max, last: UInt64 = 0
        let tree = try walk(replay) { tree, node, weight, time in
            tree.addWeight(weight, to: node)
            if time > 0 {
                first = min(first, time)
                last = max(last, time)
            }
        }
        var profile = tree.folded(names: replay.frames.foldedNames, kinds: replay.frames.foldedKinds)
        if first <= last { profile.seconds = Double(last - first) / 1e9 }
        return profile
    }

    /// The stacks in the order they were sampled, neighbours with the same stack merged: a flame chart's input
    /// (x is time), where `collapse` merges by stack.
    public func timeOrdered(_ replay: Replay) throws -> TimeOrderedStacks {
        var order: [(node: Int32, weight: UInt64)] = []
        var span: (first: UInt64, last: UInt64)?
        let tree = try walk(replay) { _, node, weight, time in
            if time > 0 { span = (span?.first ?? time, time) }
            if order.last?.node == node { order[order.count - 1].weight &+= weight } else { order.append((node, weight)) }
        }
        let names = replay.frames.foldedNames
        var kinds: [String: FrameKind] = [:]
        for (i, kind) in replay.frames.foldedKinds.enumerated() { if let kind { kinds[names[i]] = kind } }
        return TimeOrderedStacks(stacks: order.map { (tree.stack(of: $0.node, names: names), $0.weight) }, kinds: kinds,
                                 firstTime: span?.first ?? 0, lastTime: span?.last ?? 0)
    }

    /// Every sample's stack and time, for a view that folds the samples of a time range it picks (FlameScope).
    public func timed(_ replay: Replay) throws -> TimedStacks {
        var samples: [TimedStacks.Sample] = []
        var stackOf: [Int32: Int32] = [:]
        var nodes: [Int32] = []
        let tree = try walk(replay) { _, node, _, time in
            let stack: Int32
            if let known = stackOf[node] {
                stack = known
            } else {
                stack = Int32(nodes.count)
                stackOf[node] = stack
                nodes.append(node)
            }
            if time > 0 { samples.append(TimedStacks.Sample(time: time, stack: stack)) }
        }
        let names = replay.frames.foldedNames
        return TimedStacks(stacks: nodes.map { tree.stack(of: $0, names: names) }, samples: samples)
    }

    /// Folds each chosen sample into a call tree's nodes and hands over the node with its weight and time.
    private func walk(_ replay: Replay, _ emit: (inout CallTree, Int32, UInt64, UInt64) -> Void) throws -> CallTree {
        guard let event = replay.eventIndex(named: eventName) else {
            throw CollapseError.noSuchEvent(eventName ?? "", available: replay.events.map(\.name))
        }
        var tree = CallTree()
        var frames: [ResolvedFrame] = []
        var roots: [Int32: (comm: String, id: Int32)] = [:]
        let resolver = replay.resolver
        let model = replay.model
        let table = replay.frames
        func rootID(_ sample: Sample) -> Int32 {
            let comm = model.comm(tid: sample.tid)
            if let root = roots[sample.tid], root.comm == comm { return root.id }
            let id = table.intern(folded: rootName(comm, sample), kind: nil)
            roots[sample.tid] = (comm, id)
            return id
        }
        // Blocked stacks waiting for the wakeup sample that ends them: the node they reached, and their weight.
        let wakeEvent = wakers.isEmpty ? nil : replay.eventIndex(named: wakeupEventName)
        let offEvent = offCPU.flatMap { replay.eventIndex(named: $0.eventName) }
        let offFrame = offEvent == nil ? -1 : table.intern(folded: Collapser.offCPUFrame, kind: nil)
        var awaiting: [SampleKey: [(node: Int32, weight: UInt64)]] = [:]
        var chain: [Int32] = []
        // A waker is whoever woke the blocked thread (another process, an interrupt): the filters choose the blocked.
        replay.forEachSample(event: wakeEvent == nil && offEvent == nil ? event : nil, unfiltered: wakeEvent) { sample, index in
            if index == wakeEvent {
                guard let blocked = awaiting.removeValue(forKey: SampleKey(tid: sample.tid, time: sample.time)) else { return }
                resolver.frames(of: sample, into: &frames, symbolize: false)
                chain.removeAll(keepingCapacity: true)
                for frame in frames.reversed() {
                    table.forEachInfo(of: frame, pid: sample.pid) { id in
                        let folded = table.foldedOf[Int(id)]
                        if folded >= 0 { chain.append(folded) }
                    }
                }
                chain.reverse()
                chain.append(rootID(sample))
                let separator = table.intern(folded: "--", kind: nil)
                for (start, weight) in blocked {
                    var node = tree.child(of: start, frame: separator)
                    for frame in chain { node = tree.child(of: node, frame: frame) }
                    emit(&tree, node, weight, sample.time)
                }
                return
            }
            let off = index == offEvent
            guard index == event || off else { return }
            let weight = off ? offCPU?.weight(sample).map { countSamples ? 1 : $0 }
                             : self.weight.map { $0(sample) } ?? (countSamples ? 1 : sample.period)
            guard let weight else { return }
            resolver.frames(of: sample, into: &frames, symbolize: false)
            var node = tree.child(of: 0, frame: rootID(sample))
            // Through the buffer: each frame read in place rather than copied out.
            frames.withUnsafeBufferPointer { frames in
                for i in frames.indices.reversed() {
                    table.forEachInfo(of: frames[i], pid: sample.pid) { id in
                        let folded = table.foldedOf[Int(id)]
                        if folded >= 0 { node = tree.child(of: node, frame: folded) }
                    }
                }
            }
            if off { node = tree.child(of: node, frame: offFrame) }
            if !wakers.isEmpty, let waker = wakers[SampleKey(tid: sample.tid, time: sample.time)] {
                awaiting[waker, default: []].append((node, weight))
            } else {
                emit(&tree, node, weight, sample.time)
            }
        }
        // A wakeup sample that never arrived (lost): the blocked stack stands alone.
        for (node, weight) in awaiting.values.joined() { emit(&tree, node, weight, 0) }
        return tree
    }

    private func rootName(_ rawComm: String, _ sample: Sample) -> String {
        let comm = String(rawComm.map { $0 == " " ? "_" : $0 })
        switch root {
        case .comm: return comm
        case .pid: return "\(comm)-\(sample.pid)"
        case .tid: return "\(comm)-\(sample.pid)/\(sample.tid)"
        }
    }
}

/// The off-CPU half of a wall-clock profile (`record --off-cpu`), which the readers fold, report and export beside
/// its CPU samples: the event whose samples begin the waits, and each one's weight, the nanoseconds its thread then
/// stayed off the CPU (nil: the sample began no wait).
public struct OffCPUStacks: Sendable {
    public var eventName: String
    public var weight: @Sendable (Sample) -> UInt64?

    public init(eventName: String, weight: @escaping @Sendable (Sample) -> UInt64?) {
        self.eventName = eventName
        self.weight = weight
    }
}

/// Stacks in sampling order, for a flame chart.
public struct TimeOrderedStacks: Sendable {
    public var stacks: [(stack: String, weight: UInt64)]
    public var kinds: [String: FrameKind]
    /// The times (ns) of the first and last sample.
    public var firstTime: UInt64
    public var lastTime: UInt64

    public init(stacks: [(stack: String, weight: UInt64)], kinds: [String: FrameKind] = [:], firstTime: UInt64 = 0, lastTime: UInt64 = 0) {
        self.stacks = stacks
        self.kinds = kinds
        self.firstTime = firstTime
        self.lastTime = lastTime
    }
}

/// A sample named by its thread and time: how a second pass finds the samples a first one picked (the switch
/// that started an off-CPU wait, the wakeup that ended it).
/// Samples with their times, each naming its folded stack in `stacks` (FlameScope counts samples, not weights).
public struct TimedStacks: Sendable {
    public struct Sample: Sendable {
        public var time: UInt64
        public var stack: Int32
    }

    public var stacks: [String]
    public var samples: [Sample]
}

public struct SampleKey: Hashable, Sendable {
    public var tid: Int32
    public var time: UInt64
    public init(tid: Int32, time: UInt64) {
        self.tid = tid
        self.time = time
    }
}

public enum CollapseError: Error, CustomStringConvertible {
    case noSuchEvent(String, available: [String])

    public var description: String {
        switch self {
        case .noSuchEvent(let name, let available):
            return "the recording has no event '\(name)'; it has: \(available.joined(separator: ", "))"
        }
    }
}
