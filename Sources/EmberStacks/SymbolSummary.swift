import EmberPerfData
import EmberSession

/// Weight per symbol: self (the sample's leaf) and children (anywhere in the stack, counted once per sample), the
/// numbers behind `perf report`'s Self and Children columns.
public struct SymbolSummary {
    public struct Entry: Equatable {
        public var comm: String
        public var dso: String
        public var symbol: String
        public var isKernel: Bool
        public var selfWeight: UInt64
        public var childrenWeight: UInt64
    }

    public private(set) var entries: [Entry] = []
    public private(set) var totalWeight: UInt64 = 0
    public private(set) var sampleCount: UInt64 = 0

    public init(_ replay: Replay, eventName: String? = nil) throws {
        guard let event = replay.eventIndex(named: eventName) else {
            throw CollapseError.noSuchEvent(eventName ?? "", available: replay.file.events.map(\.name))
        }
        struct Key: Hashable { var comm: String; var dso: Int; var name: String }
        var index: [Key: Int] = [:]
        var seen = Set<Int>()
        var frames: [ResolvedFrame] = []
        let model = replay.model
        replay.forEachSample(event: event) { sample, _ in
            replay.resolver.frames(of: sample, into: &frames)
            totalWeight &+= sample.period
            sampleCount += 1
            let comm = model.comm(tid: sample.tid)
            seen.removeAll(keepingCapacity: true)
            for (depth, frame) in frames.enumerated() {
                let dso = frame.location?.dso ?? -1
                let name = frame.symbol?.name ?? "[unknown]"
                let key = Key(comm: comm, dso: dso, name: name)
                let i: Int
                if let found = index[key] {
                    i = found
                } else {
                    i = entries.count
                    index[key] = i
                    let dsoName = dso >= 0 ? model.dsos[dso].shortName : "[unknown]"
                    entries.append(Entry(comm: comm, dso: dsoName, symbol: name, isKernel: dso == model.kernelDso,
                                         selfWeight: 0, childrenWeight: 0))
                }
                if depth == 0 { entries[i].selfWeight &+= sample.period }
                if seen.insert(i).inserted { entries[i].childrenWeight &+= sample.period }
            }
        }
    }
}
