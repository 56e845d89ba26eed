import EmberKernel
import EmberPerfData
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
    }

    /// The stack tree shared by all threads: node `i` is frame `frames[i]` called from node `parents[i]` (-1 for a
    /// root).
    private(set) var parents: [Int32] = []
    private(set) var frames: [Int32] = []
    private(set) var threads: [Thread] = []
    /// The event's name, and whether its weights are nanoseconds (a clock) rather than counts.
    let eventName: String
    let isClock: Bool
    private(set) var firstTime: UInt64 = 0
    private(set) var lastTime: UInt64 = 0

    init(_ replay: Replay, eventName: String?) throws {
        guard let event = replay.eventIndex(named: eventName) else {
            throw CollapseError.noSuchEvent(eventName ?? "", available: replay.file.events.map(\.name))
        }
        let description = replay.file.events[event]
        self.eventName = description.name
        isClock = EventSpec.named(String(description.name.prefix { $0 != ":" }))?.isClock == true
        var children: [Int64: Int32] = [:]
        var threadIndex: [Int32: Int] = [:]
        var resolved: [ResolvedFrame] = []
        let table = replay.frames
        var first: UInt64?
        replay.forEachSample(event: event) { sample, _ in
            replay.resolver.frames(of: sample, into: &resolved, symbolize: false)
            var node: Int32 = -1
            for frame in resolved.reversed() {
                _ = table.forEachInfo(of: frame, pid: sample.pid) { info in
                    let key = Int64(node) << 32 | Int64(info)
                    if let child = children[key] {
                        node = child
                    } else {
                        let child = Int32(parents.count)
                        parents.append(node)
                        frames.append(info)
                        children[key] = child
                        node = child
                    }
                }
            }
            let index: Int
            if let known = threadIndex[sample.tid] {
                index = known
            } else {
                index = threads.count
                threadIndex[sample.tid] = index
                threads.append(Thread(pid: sample.pid, tid: sample.tid, name: replay.model.comm(tid: sample.tid),
                                      processName: replay.model.processName(sample.pid, thread: sample.tid)))
            }
            threads[index].stacks.append(node)
            threads[index].times.append(sample.time)
            threads[index].weights.append(isClock ? sample.period : 1)
            if first == nil { first = sample.time }
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
