import EmberPerfData
import EmberReplay
import EmberSession
import EmberSymbols

/// The samples of one function: their period in all, and per offset into the function.
public struct SampledFunction {
    /// As frames show it (demangled).
    public var name: String
    public var rawName: String
    /// A location in the function and its symbol, to read its code from.
    public var location: ProcessModel.Location
    public var symbol: Symbolizer.Hit
    public var binary: String
    public var samples = 0
    public var period: UInt64 = 0
    /// Period by offset from the function's start.
    public var periods: [UInt64: UInt64] = [:]
    public var isKernel: Bool
}

/// Where a recording's samples were taken, per function (the sampled instruction, as perf annotate counts them).
public struct FunctionSamples {
    /// Hottest first (by period).
    public private(set) var functions: [SampledFunction] = []
    public private(set) var samples = 0
    public private(set) var period: UInt64 = 0

    private var byKey: [UInt64: Int] = [:]

    public init() {}

    /// Reads the samples of event `event` (all when nil) that the replay's filter keeps.
    public init(_ replay: Replay, event: Int?) {
        replay.forEachSample(event: event) { sample, _ in add(sample, replay) }
        finish()
    }

    /// Counts a sample in the function its instruction pointer is in; that function's key, nil when none is known.
    @discardableResult
    public mutating func add(_ sample: Sample, _ replay: Replay) -> UInt64? {
        samples += 1
        period &+= sample.period
        let model = replay.model
        guard let location = model.resolve(pid: sample.pid, address: sample.ip),
              let hit = replay.symbolizer.symbol(at: location) ?? replay.symbolizer.unnamedFunction(at: location) else { return nil }
        let key = location.cacheKey &- hit.offset
        let index: Int
        if let known = byKey[key] {
            index = known
        } else {
            index = functions.count
            byKey[key] = index
            functions.append(SampledFunction(name: hit.name, rawName: hit.rawName, location: location, symbol: hit,
                                             binary: model.dsos[location.dso].path, isKernel: location.dso == model.kernelDso))
        }
        functions[index].samples += 1
        functions[index].period &+= sample.period
        functions[index].periods[hit.offset, default: 0] &+= sample.period
        return key
    }

    /// The function by its key (a `ProcessModel.Location.cacheKey` of its start).
    public func function(key: UInt64) -> SampledFunction? {
        byKey[key].map { functions[$0] }
    }

    /// Sorts the functions, hottest first.
    public mutating func finish() {
        functions.sort { $0.period != $1.period ? $0.period > $1.period : $0.name < $1.name }
        byKey = Dictionary(uniqueKeysWithValues: functions.enumerated().map { (key(of: $0.element), $0.offset) })
    }

    private func key(of function: SampledFunction) -> UInt64 { function.location.cacheKey &- function.symbol.offset }
}
