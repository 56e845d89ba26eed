import EmberKernel
import EmberPerfData
import EmberReplay
import EmberSession
import EmberStacks

/// One event's samples of a recording, per thread, as the exports need them: each sample's stack as a node of a
/// prefix tree of frames (the FrameTable's infos, outermost first), its time and its weight.
struct ThreadSamples {
    struct Thread {
        var pid: Int32
        var tid: Int32
        var name: String
        var processName: String
        var stacks: [Int32] = []
        var times: [UInt64] = []
        var weights: [UInt64] = []
        /// Tracepoint and probe hits of the thread, when asked for: when, the event and its fields.
        var markers: [(time: UInt64, event: String, text: String)] = []
    }

    /// The stack tree shared by all threads: node `i` is frame `frames[i]` called from node `parents[i]` (-1 for a
    /// root).
    private(set) var parents: [Int32] = []
    private(set) var frames: [Int32] = []
    private(set) var threads: [Thread] = []
    /// The event's name, and whether its weights are nanoseconds (a clock) rather than counts.
    let eventName: String
    let isClock: Bool
    /// The times of the first and last sample or marker.
    private(set) var firstTime: UInt64 = 0
    private(set) var lastTime: UInt64 = 0

    /// `markers`: also collect the tracepoint and probe hits of the other events. `weight`: each sample's weight
    /// instead of its period (nil leaves it out); `offCPU`: a wall-clock profile's off-CPU stacks beside the
    /// samples, each under a last frame `[off-cpu]`.
    init(_ replay: Replay, eventName: String?, markers: Bool = false, weight: (@Sendable (Sample) -> UInt64?)? = nil,
         offCPU: OffCPUStacks? = nil) throws {
        guard let event = replay.eventIndex(named: eventName) else {
            throw CollapseError.noSuchEvent(eventName ?? "", available: replay.events.map(\.name))
        }
        let description = replay.events[event]
        self.eventName = description.name
        isClock = EventSpec.named(String(description.name.prefix { $0 != ":" }))?.isClock == true
        var children = IntegerMap(capacity: 4096)
        var threadIndex: [Int32: Int] = [:]
        var resolved: [ResolvedFrame] = []
        let table = replay.frames
        var first: UInt64?
        let fields = SampleFields(replay: replay)
        let names = replay.events.map(\.name)
        func thread(_ sample: Sample) -> Int {
            if let known = threadIndex[sample.tid] { return known }
            threadIndex[sample.tid] = threads.count
            threads.append(Thread(pid: sample.pid, tid: sample.tid, name: replay.model.comm(tid: sample.tid),
                                  processName: replay.model.processName(sample.pid, thread: sample.tid)))
            return threads.count - 1
        }
        let offEvent = offCPU.flatMap { replay.eventIndex(named: $0.eventName) }
        let offFrame = offEvent == nil ? -1 : table.marker(Collapser.offCPUFrame)
        replay.forEachSample(event: markers || offEvent != nil ? nil : event) { sample, index in
            let off = index == offEvent
            guard index == event || off else {
                if fields.hasFields(event: index) {
                    threads[thread(sample)].markers.append((sample.time, names[index], fields.describe(sample, event: index) ?? ""))
                    first = min(first ?? sample.time, sample.time)
                    lastTime = max(lastTime, sample.time)
                }
                return
            }
            var weigh = weight
            if off { weigh = offCPU?.weight }
            var value = isClock ? sample.period : 1
            if let weigh {
                guard let w = weigh(sample) else { return }
                value = w
            }
            replay.resolver.frames(of: sample, into: &resolved, symbolize: false)
            var node: Int32 = -1
            func step(_ info: Int32) {
                let key = UInt64(UInt32(bitPattern: node)) << 32 | UInt64(UInt32(bitPattern: info))
                if let child = children[key] {
                    node = child
                } else {
                    let child = Int32(parents.count)
                    parents.append(node)
                    frames.append(info)
                    children.insert(child, for: key)
                    node = child
                }
            }
            for frame in resolved.reversed() { _ = table.forEachInfo(of: frame, pid: sample.pid, step) }
            if off { step(offFrame) }
            let index = thread(sample)
            threads[index].stacks.append(node)
            threads[index].times.append(sample.time)
            threads[index].weights.append(value)
            first = min(first ?? sample.time, sample.time)
            lastTime = max(lastTime, sample.time)
        }
        firstTime = first ?? 0
        threads.sort { ($0.pid, $0.tid) < ($1.pid, $1.tid) }
    }

    /// The frames of a stack node, outermost first.
    func path(_ node: Int32, into out: inout [Int32]) {
        out.removeAll(keepingCapacity: true)
        var n = node
        while n >= 0 {
            out.append(frames[Int(n)])
            n = parents[Int(n)]
        }
        out.reverse()
    }
}
