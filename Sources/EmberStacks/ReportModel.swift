import EmberKernel
import EmberPerfData
import EmberReplay
import EmberSession

/// A column `ember report` can sort and group by, as `perf report --sort` names them.
public enum ReportKey: String, Sendable, CaseIterable {
    case comm, pid, tid, cpu, dso, symbol, srcline
    /// `on-cpu` or `off-cpu`, in a wall-clock report (`ReportOptions.offCPU`).
    case state
    /// The address of an unresolved frame (`0x00000000000128e7`, perf's name for it), so that `symbol,address`
    /// lists unresolved code per address; resolved frames have none and group by symbol.
    case address
}

/// Which way call graphs grow under a report entry.
public enum CallGraphOrder: String, Sendable, CaseIterable {
    /// From the entry to what it calls.
    case caller
    /// From the entry to what called it.
    case callee
}

public struct ReportOptions: Sendable {
    public var keys: [ReportKey] = [.comm, .dso, .symbol]
    /// Children (inclusive) weights besides Self.
    public var children = true
    public var callGraph: CallGraphOrder?
    /// Entries only of the samples it keeps; percentages stay of every sample (perf's `--percentage absolute`).
    public var filter = SampleFilter()
    public var dsos: Set<String>?
    /// Only entries of these symbols (`-S`).
    public var symbols: Set<String>?
    public var eventName: String?
    /// A wall-clock report (`record --off-cpu`): beside the samples of `eventName`, the off-CPU stacks.
    public var offCPU: OffCPUStacks?
    /// Each sample's weight instead of its period; nil leaves it out (a report of off-CPU time alone).
    public var weight: (@Sendable (Sample) -> UInt64?)?

    public init() {}
}

/// Weights per report entry (a combination of the sort keys): Self for samples whose leaf it is, Children for
/// samples with it anywhere in the stack (counted once per sample), and a call graph per entry.
public struct ReportModel {
    public struct Entry {
        /// One value per sort key, in order.
        public var fields: [String]
        public var isKernel: Bool
        public var selfWeight: UInt64 = 0
        public var childrenWeight: UInt64 = 0
        /// Samples whose leaf the entry is, and samples with it anywhere in the stack.
        public var selfSamples: UInt64 = 0
        public var childrenSamples: UInt64 = 0
        public var graph = CallGraphNode(name: "")
    }

    public private(set) var entries: [Entry] = []
    public private(set) var totalWeight: UInt64 = 0
    public private(set) var sampleCount: UInt64 = 0
    public private(set) var eventName: String
    public let options: ReportOptions

    public init(_ replay: Replay, options: ReportOptions) throws {
        guard let event = replay.eventIndex(named: options.eventName) else {
            throw CollapseError.noSuchEvent(options.eventName ?? "", available: replay.events.map(\.name))
        }
        self.options = options
        eventName = replay.events[event].name
        var index: [[String]: Int] = [:]
        var frames: [ResolvedFrame] = []
        var path: [Int32] = []
        var entryOf: [Int] = []
        var seen = Set<Int>()
        let table = replay.frames
        let model = replay.model
        let asPerf = replay.resolver.perfCompatible
        let hasCPU = replay.events[event].layout.sampleType.contains(.cpu)
        let offEvent = options.offCPU.flatMap { replay.eventIndex(named: $0.eventName) }
        if let offEvent { eventName += "' and the off-CPU time (ns) of '\(replay.events[offEvent].name)" }
        replay.forEachSample(event: offEvent == nil ? event : nil) { sample, sampled in
            let off = sampled == offEvent
            guard sampled == event || off,
                  let weight = off ? options.offCPU?.weight(sample) : options.weight.map({ $0(sample) }) ?? sample.period else { return }
            // Percentages are of every sample, filtered or not (perf's default, --percentage absolute), but a time
            // slice is a recording of its own, as perf reports it: its samples alone count.
            if let times = options.filter.times, !times.contains(where: { $0.contains(sample.time) }) { return }
            totalWeight = totalWeight.saturatingAdd(weight)
            sampleCount += 1
            let comm = model.comm(tid: sample.tid)
            if !options.filter.accepts(sample, comm: comm, processComm: model.comm(tid: sample.pid)) { return }
            replay.resolver.frames(of: sample, into: &frames, symbolize: false)
            path.removeAll(keepingCapacity: true)
            for frame in frames.reversed() { table.forEachInfo(of: frame, pid: sample.pid) { path.append($0) } }
            guard !path.isEmpty else { return }
            entryOf.removeAll(keepingCapacity: true)
            for id in path {
                let info = table.infos[Int(id)]
                let fields = options.keys.map { $0.value(info: info, comm: comm, sample: sample, hasCPU: hasCPU, asPerf: asPerf, off: off) }
                if let i = index[fields] {
                    entryOf.append(i)
                } else {
                    index[fields] = entries.count
                    entryOf.append(entries.count)
                    entries.append(Entry(fields: fields, isKernel: info.kind == .kernel))
                }
            }
            let leaf = entryOf[entryOf.count - 1]
            entries[leaf].selfWeight = entries[leaf].selfWeight.saturatingAdd(weight)
            entries[leaf].selfSamples += 1
            seen.removeAll(keepingCapacity: true)
            func addGraph(_ entry: Int, at position: Int) {
                guard let order = options.callGraph else { return }
                let names = order == .caller
                    ? path[(position + 1)...].map { table.infos[Int($0)].name }
                    : path[..<position].reversed().map { table.infos[Int($0)].name }
                entries[entry].graph.add(names[...], weight: weight)
            }
            for (position, entry) in entryOf.enumerated() where seen.insert(entry).inserted {
                entries[entry].childrenWeight = entries[entry].childrenWeight.saturatingAdd(weight)
                entries[entry].childrenSamples += 1
                if options.children { addGraph(entry, at: position) }
            }
            // Self (perf's --no-children): under the leaf, its whole stack, from the root down to it (caller) or
            // from it up to the root (callee), as perf prints it.
            if !options.children, let order = options.callGraph {
                let names = path.map { table.infos[Int($0)].name }
                entries[leaf].graph.add(order == .caller ? names[...] : names.reversed()[...], weight: weight)
            }
        }
        if let dsos = options.dsos, let column = options.keys.firstIndex(of: .dso) {
            entries.removeAll { !dsos.contains($0.fields[column]) }
        }
        if let symbols = options.symbols, let column = options.keys.firstIndex(of: .symbol) {
            entries.removeAll { !symbols.contains($0.fields[column]) }
        }
    }
}

extension ReportKey {
    /// The column's heading, as perf report's.
    public var title: String {
        switch self {
        case .comm: return "Command"
        case .pid: return "Pid:Command"
        case .tid: return "Tid:Command"
        case .cpu: return "CPU"
        case .dso: return "Shared Object"
        case .symbol: return "Symbol"
        case .srcline: return "Source:Line"
        case .address: return "Address"
        case .state: return "State"
        }
    }

    /// A sort key's value for a frame; matching perf, an unresolved frame's symbol is its address.
    public func value(info: FrameTable.Info, comm: String, sample: Sample, hasCPU: Bool, asPerf: Bool, off: Bool = false) -> String {
        switch self {
        case .state: return off ? "off-cpu" : "on-cpu"
        case .comm: return comm
        case .pid: return "\(sample.pid):\(comm)"
        case .tid: return "\(sample.tid):\(comm)"
        case .cpu:
            // perf's `%03d`, and -1 for a recording without the CPU field.
            guard hasCPU else { return "-001" }
            let digits = String(sample.cpu)
            return String(repeating: "0", count: max(0, 3 - digits.count)) + digits
        case .dso: return info.dsoName
        case .symbol: return asPerf ? info.address.map(ReportKey.hexAddress) ?? info.name : info.name
        case .srcline: return info.line?.short ?? "??:0"
        case .address: return info.address.map(ReportKey.hexAddress) ?? ""
        }
    }

    private static func hexAddress(_ address: UInt64) -> String {
        let digits = String(address, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }
}

/// A call graph below a report entry: each node a function, weighted by the samples through it.
public struct CallGraphNode: Sendable {
    public var name: String
    public var weight: UInt64 = 0
    public var children: [CallGraphNode] = []
    private var childIndex: [String: Int] = [:]

    public init(name: String) { self.name = name }

    public mutating func add(_ path: ArraySlice<String>, weight w: UInt64) {
        weight &+= w
        guard let first = path.first else { return }
        let i: Int
        if let found = childIndex[first] {
            i = found
        } else {
            i = children.count
            childIndex[first] = i
            children.append(CallGraphNode(name: first))
        }
        children[i].add(path.dropFirst(), weight: w)
    }

    /// Multiplies every weight by `numerator / denominator` (`ember top`'s decay), dropping the branches that
    /// reach nothing.
    public mutating func scale(_ numerator: UInt64, _ denominator: UInt64) {
        weight = weight.multipliedReportingOverflow(by: numerator).partialValue / denominator
        for i in children.indices { children[i].scale(numerator, denominator) }
        guard children.contains(where: { $0.weight == 0 }) else { return }
        children.removeAll { $0.weight == 0 }
        childIndex = Dictionary(uniqueKeysWithValues: children.enumerated().map { ($0.element.name, $0.offset) })
    }
}
