import EmberKernel
import EmberPerfData
import EmberReplay
import EmberSession
import EmberStacks
import SwiftProtobuf

/// `ember pprof`: a recording as a pprof profile (profile.proto), for `go tool pprof`, Pyroscope and Parca.
///
/// One Location per distinct sampled address, its inlined functions as extra Lines (innermost first, the
/// function they were inlined into last, as pprof expects); one Mapping per mapped region that samples landed in,
/// with its addresses, file offset and build-id, the main executable's first; one Function per symbol and file,
/// its system name the symbol as the binary has it; labels for pid, tid and comm. The profile's time is that of
/// its first sample (see `PerfDataFile.wallClockTime`).
public struct PprofBuilder {
    public var eventName: String?
    /// Instead of each sample's period: its weight in `valueType`'s unit, nil to leave the sample out (off-CPU
    /// profiles weigh each sched_switch by the time its thread then stayed off the CPU).
    public var weight: (@Sendable (Sample) -> UInt64?)?
    public var valueType = (type: "weight", unit: "count")
    /// A wall-clock profile (`record --off-cpu`): beside the samples of `eventName`, the off-CPU stacks; every
    /// sample's value is then `wall` nanoseconds, with a `state` label of `on-cpu` or `off-cpu`.
    public var offCPU: OffCPUStacks?
    /// Instead of a count and a weight: several values per sample (a heap profile's allocated and in-use objects
    /// and bytes).
    public var values: Values?

    /// A profile's own sample types, as Go's heap profiles have four, and each sample's values in their order.
    public struct Values: Sendable {
        public var types: [(type: String, unit: String)]
        /// The type a viewer shows unless asked for another (pprof's `default_sample_type`).
        public var defaultType: String
        public var periodType: (type: String, unit: String)
        /// One value per type, or nil to leave the sample out.
        public var of: @Sendable (Sample) -> [Int64]?

        public init(types: [(type: String, unit: String)], defaultType: String, periodType: (type: String, unit: String),
                    of: @escaping @Sendable (Sample) -> [Int64]?) {
            self.types = types
            self.defaultType = defaultType
            self.periodType = periodType
            self.of = of
        }
    }

    public init() {}

    private struct Tables {
        var strings: [String] = [""]
        var stringIDs: [String: Int64] = ["": 0]
        var functions: [Perftools_Profiles_Function] = []
        var functionIDs: [String: UInt64] = [:]
        var mappings: [Perftools_Profiles_Mapping] = []
        /// The region each mapping stands for, by mapping index.
        var regions: [Mapping] = []
        var mappingIDs: [Mapping: UInt64] = [:]
        var locations: [Perftools_Profiles_Location] = []
        /// By the run of frames an address shows as, or (unresolved) the address itself.
        var locationIDs: [LocationKey: UInt64] = [:]

        struct LocationKey: Hashable {
            var run: Int
            var address: UInt64
        }

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
            throw CollapseError.noSuchEvent(eventName ?? "", available: replay.events.map(\.name))
        }
        let description = replay.events[event]
        // perf names events with modifiers (`cpu-clock:ppp`); the unit comes from the event itself.
        let isClock = EventSpec.named(String(description.name.prefix { $0 != ":" }))?.isClock == true
        let buildIDs = Dictionary(replay.buildIDs.map { ($0.filename, $0.hex) }, uniquingKeysWith: { a, _ in a })
        var t = Tables()
        var profile = Perftools_Profiles_Profile()
        let valueType = self.valueType
        let offEvent = offCPU.flatMap { replay.eventIndex(named: $0.eventName) }
        profile.sampleType = [
            .with { $0.type = t.string("samples"); $0.unit = t.string("count") },
            offEvent != nil ? .with { $0.type = t.string("wall"); $0.unit = t.string("nanoseconds") }
                : weight != nil ? .with { $0.type = t.string(valueType.type); $0.unit = t.string(valueType.unit) }
                : isClock ? .with { $0.type = t.string("cpu"); $0.unit = t.string("nanoseconds") }
                : .with { $0.type = t.string(description.name); $0.unit = t.string("count") },
        ]
        profile.periodType = profile.sampleType[1]
        if let values {
            profile.sampleType = values.types.map { type in .with { $0.type = t.string(type.type); $0.unit = t.string(type.unit) } }
            profile.defaultSampleType = t.string(values.defaultType)
            profile.periodType = .with { $0.type = t.string(values.periodType.type); $0.unit = t.string(values.periodType.unit) }
        }
        // A weighted profile has no period: its samples are events, not a rate.
        if offEvent != nil {
            // Time on and off the CPU: no one period.
        } else if weight == nil, !description.attr.flags.contains(.freq) { profile.period = Int64(clamping: description.attr.samplePeriodOrFrequency) }
        else if weight == nil, isClock, description.attr.samplePeriodOrFrequency > 0 { profile.period = Int64(1_000_000_000 / description.attr.samplePeriodOrFrequency) }
        // A sampled heap's period is a mean number of bytes that the recording does not hold.
        if values != nil { profile.period = 0 }

        let pidKey = t.string("pid"), tidKey = t.string("tid"), commKey = t.string("comm")
        let states: [Perftools_Profiles_Label] = offEvent == nil ? [] : ["on-cpu", "off-cpu"].map { state in
            .with { $0.key = t.string("state"); $0.str = t.string(state) }
        }
        let table = replay.frames
        var frames: [ResolvedFrame] = []
        var first: UInt64?, last: UInt64 = 0
        var samplesByPid: [Int32: Int] = [:]
        let weight = self.weight
        let offCPU = self.offCPU
        let valuesOf = values?.of
        replay.forEachSample(event: offEvent == nil ? event : nil) { sample, sampled in
            let off = sampled == offEvent
            guard sampled == event || off else { return }
            var value = Int64(clamping: sample.period)
            var weigh = weight
            if off { weigh = offCPU?.weight }
            if let weigh {
                guard let w = weigh(sample) else { return }
                value = Int64(clamping: w)
            }
            var sampleValues: [Int64]?
            if let valuesOf {
                guard let v = valuesOf(sample) else { return }
                sampleValues = v
            }
            replay.resolver.frames(of: sample, into: &frames, symbolize: false)
            var s = Perftools_Profiles_Sample()
            for frame in frames {
                var lines: [Int32] = []
                let run = table.forEachInfo(of: frame, pid: sample.pid) { lines.append($0) }
                let key = Tables.LocationKey(run: run >= 0 ? run : (frame.isTruncation ? Int.min : -1), address: run >= 0 ? 0 : frame.address)
                if let id = t.locationIDs[key] {
                    s.locationID.append(id)
                    continue
                }
                var location = Perftools_Profiles_Location()
                location.id = UInt64(t.locations.count + 1)
                location.address = frame.address
                let infos = lines.map { table.infos[Int($0)] }
                if let region = replay.model.mapping(pid: sample.pid, address: replay.resolver.lookupAddress(of: frame)) {
                    location.mappingID = mapping(region, replay.model, buildIDs: buildIDs, &t)
                }
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
            s.value = sampleValues ?? [1, value]
            s.label = [
                .with { $0.key = pidKey; $0.num = Int64(sample.pid) },
                .with { $0.key = tidKey; $0.num = Int64(sample.tid) },
                .with { $0.key = commKey; $0.str = t.string(replay.model.comm(tid: sample.tid)) },
            ]
            if !states.isEmpty { s.label.append(states[off ? 1 : 0]) }
            profile.sample.append(s)
            samplesByPid[sample.pid, default: 0] += 1
            if first == nil { first = sample.time }
            last = sample.time
        }
        // The main process: the one with the most samples (the lowest pid of a tie) that has an executable.
        let main = samplesByPid.filter { replay.model.executable(pid: $0.key) != nil }
            .max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key
        if let main { putExecutableFirst(pid: main, replay.model, buildIDs: buildIDs, &t) }
        profile.location = t.locations
        profile.function = t.functions
        profile.mapping = t.mappings
        profile.stringTable = t.strings
        profile.durationNanos = Int64(clamping: last &- (first ?? last))
        profile.timeNanos = Int64(clamping: replay.wallClockTime(of: first ?? last, end: last))
        return profile
    }

    /// pprof takes the first mapping for the main binary (its reports' `File:`): puts the mappings of `pid`'s
    /// executable first, adding its first region when no sample landed in it, and renumbers them all. The last
    /// step of `build`: the ids in `mappingIDs` are stale after it.
    private func putExecutableFirst(pid: Int32, _ model: ProcessModel, buildIDs: [String: String], _ t: inout Tables) {
        guard let exe = model.executable(pid: pid) else { return }
        if !t.regions.contains(where: { $0.dso == exe }), let region = model.mappings(pid: pid).first(where: { $0.dso == exe }) {
            _ = mapping(region, model, buildIDs: buildIDs, &t)
        }
        let order = t.regions.indices.filter { t.regions[$0].dso == exe } + t.regions.indices.filter { t.regions[$0].dso != exe }
        var newIDs = [UInt64](repeating: 0, count: t.mappings.count + 1)
        for (position, index) in order.enumerated() { newIDs[index + 1] = UInt64(position + 1) }
        t.mappings = order.map { index in
            var m = t.mappings[index]
            m.id = newIDs[index + 1]
            return m
        }
        t.regions = order.map { t.regions[$0] }
        for i in t.locations.indices { t.locations[i].mappingID = newIDs[Int(t.locations[i].mappingID)] }
    }

    /// The mapping of a region of an address space: a binary mapped into two processes at two addresses is two.
    private func mapping(_ region: Mapping, _ model: ProcessModel, buildIDs: [String: String], _ t: inout Tables) -> UInt64 {
        if let id = t.mappingIDs[region] { return id }
        let dso = model.dsos[region.dso]
        var m = Perftools_Profiles_Mapping()
        m.id = UInt64(t.mappings.count + 1)
        m.memoryStart = region.start
        m.memoryLimit = region.end
        m.fileOffset = region.pageOffset
        m.filename = t.string(dso.path)
        if let buildID = buildIDs[dso.path] { m.buildID = t.string(buildID) }
        m.hasFunctions_p = true
        m.hasFilenames_p = true
        m.hasLineNumbers_p = true
        m.hasInlineFrames_p = true
        t.mappings.append(m)
        t.regions.append(region)
        t.mappingIDs[region] = m.id
        return m.id
    }

    private func function(_ info: FrameTable.Info, _ t: inout Tables) -> UInt64 {
        let file = info.declaration?.file ?? info.line?.file ?? ""
        let key = info.rawName + "\u{0}" + file
        if let id = t.functionIDs[key] { return id }
        var f = Perftools_Profiles_Function()
        f.id = UInt64(t.functions.count + 1)
        f.name = t.string(info.name)
        f.systemName = t.string(info.rawName)
        f.filename = t.string(file)
        f.startLine = Int64(info.declaration?.line ?? 0)
        t.functions.append(f)
        t.functionIDs[key] = f.id
        return f.id
    }

    /// The serialized profile, gzip-compressed as pprof files are.
    public static func gzipped(_ profile: Perftools_Profiles_Profile) throws -> [UInt8] {
        try Gzip.compress(try profile.serializedBytes())
    }
}
