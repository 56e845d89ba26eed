import CGzip
import EmberKernel
import EmberPerfData
import EmberSession
import EmberStacks
import SwiftProtobuf

/// `ember pprof`: a recording as a pprof profile (profile.proto), for `go tool pprof`, Pyroscope and Parca.
///
/// One Location per distinct sampled address, its inlined functions as extra Lines (innermost first, the
/// function they were inlined into last, as pprof expects); one Mapping per binary, with its build-id; one Function
/// per name and file; labels for pid, tid and comm.
public struct PprofBuilder {
    public var eventName: String?

    public init() {}

    private struct Tables {
        var strings: [String] = [""]
        var stringIDs: [String: Int64] = ["": 0]
        var functions: [Perftools_Profiles_Function] = []
        var functionIDs: [String: UInt64] = [:]
        var mappings: [Perftools_Profiles_Mapping] = []
        var mappingIDs: [String: UInt64] = [:]
        var locations: [Perftools_Profiles_Location] = []
        var locationIDs: [Int: UInt64] = [:]

        mutating func string(_ s: String) -> Int64 {
            if let id = stringIDs[s] { return id }
            let id = Int64(strings.count)
            strings.append(s)
            stringIDs[s] = id
            return id
        }
    }

    /// The profile of one event of a recording.
    public func build(_ replay: Replay) throws -> Perftools_Profiles_Profile {
        guard let event = replay.eventIndex(named: eventName) else {
            throw CollapseError.noSuchEvent(eventName ?? "", available: replay.file.events.map(\.name))
        }
        let description = replay.file.events[event]
        // perf names events with modifiers (`cpu-clock:ppp`); the unit comes from the event itself.
        let isClock = EventSpec.named(String(description.name.prefix { $0 != ":" }))?.isClock == true
        let buildIDs = Dictionary(replay.file.buildIDs.map { ($0.filename, $0.hex) }, uniquingKeysWith: { a, _ in a })
        var t = Tables()
        var profile = Perftools_Profiles_Profile()
        profile.sampleType = [
            .with { $0.type = t.string("samples"); $0.unit = t.string("count") },
            isClock ? .with { $0.type = t.string("cpu"); $0.unit = t.string("nanoseconds") }
                    : .with { $0.type = t.string(description.name); $0.unit = t.string("count") },
        ]
        profile.periodType = profile.sampleType[1]
        if !description.attr.flags.contains(.freq) { profile.period = Int64(clamping: description.attr.samplePeriodOrFrequency) }
        else if isClock, description.attr.samplePeriodOrFrequency > 0 { profile.period = Int64(1_000_000_000 / description.attr.samplePeriodOrFrequency) }

        let pidKey = t.string("pid"), tidKey = t.string("tid"), commKey = t.string("comm")
        let table = replay.frames
        var frames: [ResolvedFrame] = []
        var first: UInt64?, last: UInt64 = 0
        replay.forEachSample(event: event) { sample, _ in
            replay.resolver.frames(of: sample, into: &frames, symbolize: false)
            var s = Perftools_Profiles_Sample()
            for frame in frames {
                var lines: [Int32] = []
                let run = table.forEachInfo(of: frame, pid: sample.pid) { lines.append($0) }
                let key = run >= 0 ? run : (frame.isTruncation ? Int.min : -1 - Int(frame.address & 0x7fff_ffff))
                if let id = t.locationIDs[key] {
                    s.locationID.append(id)
                    continue
                }
                var location = Perftools_Profiles_Location()
                location.id = UInt64(t.locations.count + 1)
                location.address = frame.address
                let infos = lines.map { table.infos[Int($0)] }
                if let dso = infos.first?.dso { location.mappingID = mapping(replay.model.dsos[dso], buildIDs: buildIDs, &t) }
                // The innermost inlined function first, the function it was inlined into last.
                for info in infos.reversed() where info.name != "[unknown]" {
                    location.line.append(.with {
                        $0.functionID = function(info, &t)
                        $0.line = Int64(info.line?.line ?? 0)
                    })
                }
                t.locations.append(location)
                t.locationIDs[key] = location.id
                s.locationID.append(location.id)
            }
            s.value = [1, Int64(clamping: sample.period)]
            s.label = [
                .with { $0.key = pidKey; $0.num = Int64(sample.pid) },
                .with { $0.key = tidKey; $0.num = Int64(sample.tid) },
                .with { $0.key = commKey; $0.str = t.string(replay.model.comm(tid: sample.tid)) },
            ]
            profile.sample.append(s)
            if first == nil { first = sample.time }
            last = sample.time
        }
        profile.location = t.locations
        profile.function = t.functions
        profile.mapping = t.mappings
        profile.stringTable = t.strings
        profile.durationNanos = Int64(clamping: last &- (first ?? last))
        return profile
    }

    private func mapping(_ dso: Dso, buildIDs: [String: String], _ t: inout Tables) -> UInt64 {
        if let id = t.mappingIDs[dso.path] { return id }
        var m = Perftools_Profiles_Mapping()
        m.id = UInt64(t.mappings.count + 1)
        m.filename = t.string(dso.path)
        if let buildID = buildIDs[dso.path] { m.buildID = t.string(buildID) }
        m.hasFunctions_p = true
        m.hasFilenames_p = true
        m.hasLineNumbers_p = true
        m.hasInlineFrames_p = true
        t.mappings.append(m)
        t.mappingIDs[dso.path] = m.id
        return m.id
    }

    private func function(_ info: FrameTable.Info, _ t: inout Tables) -> UInt64 {
        let file = info.declaration?.file ?? info.line?.file ?? ""
        let key = info.name + "\u{0}" + file
        if let id = t.functionIDs[key] { return id }
        var f = Perftools_Profiles_Function()
        f.id = UInt64(t.functions.count + 1)
        f.name = t.string(info.name)
        f.systemName = f.name
        f.filename = t.string(file)
        f.startLine = Int64(info.declaration?.line ?? 0)
        t.functions.append(f)
        t.functionIDs[key] = f.id
        return f.id
    }

    /// The serialized profile, gzip-compressed as pprof files are.
    public static func gzipped(_ profile: Perftools_Profiles_Profile) throws -> [UInt8] {
        let bytes: [UInt8] = try profile.serializedBytes()
        var out: UnsafeMutablePointer<UInt8>?
        let size = bytes.withUnsafeBytes { ember_gzip($0.baseAddress, $0.count, &out) }
        guard size > 0, let out else { throw PprofError.compressionFailed }
        defer { out.deallocate() }
        return Array(UnsafeBufferPointer(start: out, count: size))
    }
}

public enum PprofError: Error, CustomStringConvertible {
    case compressionFailed
    public var description: String { "gzip compression failed" }
}
