import EmberPerfData
import EmberSession
import EmberSymbols

/// One frame of a sampled stack.
public struct ResolvedFrame {
    /// The address as sampled: an instruction pointer for the leaf of each context, a return address above it.
    public var address: UInt64
    public var isReturnAddress: Bool
    public var location: ProcessModel.Location?
    public var symbol: Symbolizer.Hit?

    /// The address symbols are looked up at: a return address points after its call, so step back into it.
    @inline(__always)
    static func lookupAddress(_ address: UInt64, isReturnAddress: Bool) -> UInt64 {
        isReturnAddress && address > 0 ? address - 1 : address
    }
}

/// Turns a sample's callchain (or its IP) into frames, leaf first.
public final class FrameResolver {
    private let model: ProcessModel
    private let symbolizer: Symbolizer

    init(model: ProcessModel, symbolizer: Symbolizer) {
        self.model = model
        self.symbolizer = symbolizer
    }

    /// Fills `frames` (cleared first) with the sample's frames, leaf first. Without `symbolize`, frames carry only
    /// their locations, for callers that cache per location and symbolize on a miss with `symbolize(_:)`.
    public func frames(of sample: Sample, into frames: inout [ResolvedFrame], symbolize: Bool = true) {
        frames.removeAll(keepingCapacity: true)
        let n = sample.callchainCount
        guard n > 0 else {
            frames.append(resolve(sample.ip, isReturnAddress: false, pid: sample.pid, symbolize: symbolize))
            return
        }
        var nextIsIP = true
        for i in 0..<n {
            let entry = sample.callchainEntry(i)
            if entry >= CallchainContext.max {
                nextIsIP = true
                continue
            }
            frames.append(resolve(entry, isReturnAddress: !nextIsIP, pid: sample.pid, symbolize: symbolize))
            nextIsIP = false
        }
    }

    @inline(__always)
    private func resolve(_ address: UInt64, isReturnAddress: Bool, pid: Int32, symbolize: Bool) -> ResolvedFrame {
        let lookup = ResolvedFrame.lookupAddress(address, isReturnAddress: isReturnAddress)
        var frame = ResolvedFrame(address: address, isReturnAddress: isReturnAddress,
                                  location: model.resolve(pid: pid, address: lookup), symbol: nil)
        if symbolize { self.symbolize(&frame) }
        return frame
    }

    /// Looks up the symbol of a frame resolved without one.
    @inline(__always)
    public func symbolize(_ frame: inout ResolvedFrame) {
        guard let location = frame.location, var symbol = symbolizer.symbol(at: location) else { return }
        // The lookup was at the address before a return address; show the offset of the address itself.
        if frame.isReturnAddress { symbol.offset += 1 }
        frame.symbol = symbol
    }

    /// The kind of code a frame is in, for flame graph colours.
    public func kind(of frame: ResolvedFrame, pid: Int32) -> FrameKind {
        guard let location = frame.location else { return .unknown }
        if location.dso == model.kernelDso { return .kernel }
        if location.dso == model.executable(pid: pid) { return .application }
        let dso = model.dsos[location.dso]
        return dso.isFile || dso.isVDSO ? .library : .unknown
    }
}
