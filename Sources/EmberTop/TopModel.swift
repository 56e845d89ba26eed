import EmberAnnotate
import EmberPerfData
import EmberReplay
import EmberStacks

/// What `ember top` shows: the samples of a live recording per entry (the sort keys' values of the sampled
/// function), decayed at each refresh as perf top's are, with the callers of each entry when call graphs are on.
public struct TopModel {
    public struct Entry: Sendable {
        /// One value per sort key, in order.
        public var fields: [String]
        public var isKernel: Bool
        /// The period of its samples, decayed.
        public var weight: UInt64 = 0
        /// Its samples since the recording began.
        public var samples: UInt64 = 0
        /// Who called it: from the entry up to the root.
        public var callers = CallGraphNode(name: "")
        /// The function it was sampled in (`FunctionSamples`' key), for its annotation; nil when unresolved.
        public var function: UInt64?
    }

    public let keys: [ReportKey]
    public let callGraphs: Bool
    /// Each refresh zeroes the counts (perf top's `-z`) instead of decaying them by an eighth.
    public var zeroes = false
    public private(set) var entries: [Entry] = []
    /// The decayed period of every sample, the whole the entries' shares are of.
    public private(set) var totalWeight: UInt64 = 0
    /// Since the last refresh: samples, and those in the kernel.
    public private(set) var recentSamples: UInt64 = 0
    public private(set) var recentKernel: UInt64 = 0
    /// Every sample by function and offset, for annotation (not decayed: an annotation wants every sample).
    public private(set) var functions = FunctionSamples()
    private var index: [[String]: Int] = [:]
    private var frames: [ResolvedFrame] = []
    private var path: [Int32] = []

    public init(keys: [ReportKey], callGraphs: Bool) {
        self.keys = keys
        self.callGraphs = callGraphs
    }

    /// Reads the samples that arrived since the last reading.
    public mutating func read(_ replay: Replay, event: Int?) {
        let table = replay.frames
        let hasCPU = replay.events.first?.layout.sampleType.contains(.cpu) ?? false
        replay.forEachSample(event: event) { sample, _ in
            totalWeight &+= sample.period
            recentSamples += 1
            let function = functions.add(sample, replay)
            replay.resolver.frames(of: sample, into: &frames, symbolize: false)
            path.removeAll(keepingCapacity: true)
            // Root first, as a report builds its paths (a frame's inlined functions after the one they are in).
            for frame in frames.reversed() { table.forEachInfo(of: frame, pid: sample.pid) { path.append($0) } }
            guard let leaf = path.last else { return }
            let info = table.infos[Int(leaf)]
            if info.kind == .kernel { recentKernel += 1 }
            let comm = replay.model.comm(tid: sample.tid)
            let fields = keys.map { $0.value(info: info, comm: comm, sample: sample, hasCPU: hasCPU, asPerf: false) }
            let i: Int
            if let known = index[fields] {
                i = known
            } else {
                i = entries.count
                index[fields] = i
                entries.append(Entry(fields: fields, isKernel: info.kind == .kernel))
            }
            entries[i].weight &+= sample.period
            entries[i].samples += 1
            if entries[i].function == nil { entries[i].function = function }
            if callGraphs { entries[i].callers.add(path.dropLast().reversed().map { table.infos[Int($0)].name }[...], weight: sample.period) }
        }
    }

    /// After a refresh: counts fall by an eighth (or to zero with `zeroes`); entries that reach zero go, so a
    /// process that exited keeps its rows until they decay.
    public mutating func decay() {
        recentSamples = 0
        recentKernel = 0
        let (numerator, denominator): (UInt64, UInt64) = zeroes ? (0, 1) : (7, 8)
        totalWeight = totalWeight.multipliedReportingOverflow(by: numerator).partialValue / denominator
        for i in entries.indices {
            entries[i].weight = entries[i].weight.multipliedReportingOverflow(by: numerator).partialValue / denominator
            if callGraphs { entries[i].callers.scale(numerator, denominator) }
        }
        guard entries.contains(where: { $0.weight == 0 }) else { return }
        entries.removeAll { $0.weight == 0 }
        index = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($0.element.fields, $0.offset) })
    }
}
