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
        let tree = try walk(replay) { tree, node, weight, time, _, _ in
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

    /// Every sample's stack, time, thread and weight, for the views that place samples in time: FlameScope folds
    /// the samples of a range it picks, the flame chart draws each thread's samples along a time axis.
    public func timed(_ replay: Replay) throws -> TimedStacks {
        var samples: [TimedStacks.Sample] = []
        var stackOf: [Int32: Int32] = [:]
        var nodes: [Int32] = []
        var threads: [TimedStacks.Thread] = []
        var threadOf: [Int32: Int32] = [:]
        let model = replay.model
        let tree = try walk(replay) { _, node, weight, time, pid, tid in
            let stack: Int32
            if let known = stackOf[node] {
                stack = known
            } else {
                stack = Int32(nodes.count)
                stackOf[node] = stack
                nodes.append(node)
            }
            let thread: Int32
            if let known = threadOf[tid] {
                thread = known
            } else {
                thread = Int32(threads.count)
                threadOf[tid] = thread
                threads.append(TimedStacks.Thread(pid: pid, tid: tid, name: ""))
            }
            if time > 0 { samples.append(TimedStacks.Sample(time: time, stack: stack, thread: thread, weight: weight)) }
        }
        // Threads by the name they ended with (the first sample of a command may precede its exec).
        for i in threads.indices { threads[i].name = model.comm(tid: threads[i].tid) }
        let names = replay.frames.foldedNames
        var kinds: [String: FrameKind] = [:]
        for (i, kind) in replay.frames.foldedKinds.enumerated() { if let kind { kinds[names[i]] = kind } }
        return TimedStacks(stacks: nodes.map { tree.stack(of: $0, names: names) }, samples: samples, threads: threads, kinds: kinds)
    }

    /// Folds each chosen sample into a call tree's nodes and hands over the node with its weight, time, pid and tid
    /// (a blocked stack's, with its waker above it).
    private func walk(_ replay: Replay, _ emit: (inout CallTree, Int32, UInt64, UInt64, Int32, Int32) -> Void) throws -> CallTree {
        guard let event = replay.eventIndex(named: eventName) else {
            throw CollapseError.noSuchEvent(eventName ?? "", available: replay.events.map(\.name))
        }
        let state = WalkState()
        let resolver = replay.resolver
        let model = replay.model
        let table = replay.frames
        func rootID(_ sample: Sample) -> Int32 {
            if sample.tid == state.last.tid, state.last.names == model.namesChanged { return state.last.id }
            let known = state.threadRoots[UInt64(UInt32(bitPattern: sample.tid))].map { Int($0) }
            if let known, state.roots[known].names == model.namesChanged {
                state.last = (sample.tid, model.namesChanged, state.roots[known].id)
                return state.roots[known].id
            }
            let comm = model.comm(tid: sample.tid)
            let id = known.flatMap { state.roots[$0].comm == comm ? state.roots[$0].id : nil }
                ?? table.intern(folded: rootName(comm, sample), kind: nil)
            if let known {
                state.roots[known] = (comm, model.namesChanged, id)
            } else {
                state.threadRoots.insert(Int32(state.roots.count), for: UInt64(UInt32(bitPattern: sample.tid)))
                state.roots.append((comm, model.namesChanged, id))
            }
            state.last = (sample.tid, model.namesChanged, id)
            return id
        }
        let wakeEvent = wakers.isEmpty ? nil : replay.eventIndex(named: wakeupEventName)
        let offEvent = offCPU.flatMap { replay.eventIndex(named: $0.eventName) }
        let offFrame = offEvent == nil ? -1 : table.intern(folded: Collapser.offCPUFrame, kind: nil)
        // A waker is whoever woke the blocked thread (another process, an interrupt): the filters choose the blocked.
        replay.forEachSample(event: wakeEvent == nil && offEvent == nil ? event : nil, unfiltered: wakeEvent) { sample, index in
            if index == wakeEvent {
                guard let blocked = state.awaiting.removeValue(forKey: SampleKey(tid: sample.tid, time: sample.time)) else { return }
                resolver.frames(of: sample, into: &state.frames, symbolize: false)
                state.chain.removeAll(keepingCapacity: true)
                for frame in state.frames.reversed() {
                    table.forEachInfo(of: frame, pid: sample.pid) { id in
                        let folded = table.foldedOf[Int(id)]
                        if folded >= 0 { state.chain.append(folded) }
                    }
                }
                state.chain.reverse()
                state.chain.append(rootID(sample))
                let separator = table.intern(folded: "--", kind: nil)
                for (start, weight, pid, tid) in blocked {
                    var node = state.tree.child(of: start, frame: separator)
                    for frame in state.chain { node = state.tree.child(of: node, frame: frame) }
                    emit(&state.tree, node, weight, sample.time, pid, tid)
                }
                return
            }
            let off = index == offEvent
            guard index == event || off else { return }
            let weight = off ? offCPU?.weight(sample).map { countSamples ? 1 : $0 }
                             : self.weight.map { $0(sample) } ?? (countSamples ? 1 : sample.period)
            guard let weight else { return }
            let root = rootID(sample)
            // A chain folded before, in the same state of its process, reaches the same node.
            let cached = ChainCache.caches(sample) ? state.chains.lookup(sample, root: root, model: model) : nil
            var node: Int32
            if case .hit(let known) = cached {
                node = known
            } else {
                resolver.frames(of: sample, into: &state.frames, symbolize: false)
                node = state.tree.child(of: 0, frame: root)
                // Through the buffer: each frame read in place rather than copied out.
                state.frames.withUnsafeBufferPointer { frames in
                    for i in frames.indices.reversed() {
                        table.forEachInfo(of: frames[i], pid: sample.pid) { id in
                            let folded = table.foldedOf[Int(id)]
                            if folded >= 0 { node = state.tree.child(of: node, frame: folded) }
                        }
                    }
                }
                if case .miss(let miss) = cached { state.chains.store(node, for: sample, root: root, at: miss, model: model) }
            }
            if off { node = state.tree.child(of: node, frame: offFrame) }
            if !wakers.isEmpty, let waker = wakers[SampleKey(tid: sample.tid, time: sample.time)] {
                state.awaiting[waker, default: []].append((node, weight, sample.pid, sample.tid))
            } else {
                emit(&state.tree, node, weight, sample.time, sample.pid, sample.tid)
            }
        }
        // A wakeup sample that never arrived (lost): the blocked stack stands alone.
        for (node, weight, pid, tid) in state.awaiting.values.joined() { emit(&state.tree, node, weight, 0, pid, tid) }
        return state.tree
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

/// One walk's mutable state, in a class whose properties skip Swift's dynamic exclusivity checks: as `var`s
/// captured by the per-sample closure they were checked at each access (a sixth of folding a cached chain).
private final class WalkState {
    @exclusivity(unchecked) var tree = CallTree()
    @exclusivity(unchecked) var frames: [ResolvedFrame] = []
    @exclusivity(unchecked) var chains = ChainCache()
    /// A waker's chain, outermost first.
    @exclusivity(unchecked) var chain: [Int32] = []
    /// Blocked stacks waiting for the wakeup sample that ends them: the node they reached, weight and thread.
    @exclusivity(unchecked) var awaiting: [SampleKey: [(node: Int32, weight: UInt64, pid: Int32, tid: Int32)]] = [:]
    /// Each thread's root frame, with its name then and the model's name count when it was last checked.
    @exclusivity(unchecked) var roots: [(comm: String, names: UInt64, id: Int32)] = []
    @exclusivity(unchecked) var threadRoots = IntegerMap(capacity: 64)
    /// Samples come in runs of one thread: its root is kept until another's is asked for or a name changes.
    @exclusivity(unchecked) var last: (tid: Int32, names: UInt64, id: Int32) = (-1, .max, 0)
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

/// Samples with their times, threads and weights, each naming its folded stack in `stacks` (FlameScope counts
/// samples, the flame chart lays each thread's out in time).
public struct TimedStacks: Sendable {
    public struct Sample: Sendable {
        public var time: UInt64
        public var stack: Int32
        /// Its index in `threads`.
        public var thread: Int32
        public var weight: UInt64

        public init(time: UInt64, stack: Int32, thread: Int32 = 0, weight: UInt64 = 1) {
            self.time = time
            self.stack = stack
            self.thread = thread
            self.weight = weight
        }
    }

    public struct Thread: Sendable {
        public var pid: Int32
        public var tid: Int32
        public var name: String

        public init(pid: Int32, tid: Int32, name: String) {
            self.pid = pid
            self.tid = tid
            self.name = name
        }
    }

    public var stacks: [String]
    public var samples: [Sample]
    public var threads: [Thread]
    public var kinds: [String: FrameKind]

    public init(stacks: [String], samples: [Sample], threads: [Thread], kinds: [String: FrameKind] = [:]) {
        self.stacks = stacks
        self.samples = samples
        self.threads = threads
        self.kinds = kinds
    }
}

/// A sample named by its thread and time: how a second pass finds the samples a first one picked (the switch
/// that started an off-CPU wait, the wakeup that ended it).
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
