import EmberKernel
import EmberPerfData
import EmberReplay
import EmberStacks

/// A recording as a speedscope file (https://www.speedscope.app/file-format-schema.json): one sampled profile a
/// thread, its stacks as indices into one shared frame table (outermost first), weighed in the event's unit:
/// a clock sample by its period in nanoseconds, any other sample as 1.
public struct SpeedscopeExporter {
    public var eventName: String?
    /// Each sample's weight instead of its period (nil leaves it out): off-CPU time alone.
    public var weight: (@Sendable (Sample) -> UInt64?)?
    /// A wall-clock profile's off-CPU stacks, under a last frame `[off-cpu]`, beside the samples.
    public var offCPU: OffCPUStacks?

    public init() {}

    public func export(_ replay: Replay, name: String) throws -> [UInt8] {
        let samples = try ThreadSamples(replay, eventName: eventName, weight: weight, offCPU: offCPU)
        let infos = replay.frames.infos
        // The frames the samples use, numbered in order of first use.
        var index: [Int32: Int] = [:]
        var used: [Int32] = []
        for f in samples.frames where index[f] == nil {
            index[f] = used.count
            used.append(f)
        }
        var json = JSONWriter(capacity: 1 << 20)
        json.raw("{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\"exporter\":")
        json.string(EmberVersion.string)
        json.raw(",\"name\":")
        json.string(name)
        json.raw(",\"activeProfileIndex\":0,\"shared\":{\"frames\":[")
        for (i, f) in used.enumerated() {
            let info = infos[Int(f)]
            json.raw(i == 0 ? "{\"name\":" : ",{\"name\":")
            json.string(info.name)
            if let line = info.declaration ?? info.line {
                json.raw(",\"file\":")
                json.string(line.file)
                json.raw(",\"line\":")
                json.int(line.line)
            } else {
                json.raw(",\"file\":")
                json.string(info.dsoName)
            }
            json.raw("}")
        }
        json.raw("]},\"profiles\":[")
        var path: [Int32] = []
        for (t, thread) in samples.threads.enumerated() {
            json.raw(t == 0 ? "{\"type\":\"sampled\",\"name\":" : ",{\"type\":\"sampled\",\"name\":")
            json.string("\(thread.name) \(thread.pid)/\(thread.tid)")
            json.raw(",\"unit\":")
            json.string(samples.isClock ? "nanoseconds" : "none")
            json.raw(",\"startValue\":0,\"endValue\":")
            json.int(thread.weights.reduce(UInt64(0)) { let (s, o) = $0.addingReportingOverflow($1); return o ? .max : s })
            json.raw(",\"samples\":[")
            for (i, stack) in thread.stacks.enumerated() {
                if i > 0 { json.raw(",") }
                samples.path(stack, into: &path)
                json.array(path.map { index[$0]! })
            }
            json.raw("],\"weights\":")
            json.array(thread.weights)
            json.raw("}")
        }
        json.raw("]}\n")
        return json.bytes
    }
}
