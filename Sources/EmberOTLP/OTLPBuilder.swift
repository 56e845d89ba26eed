import EmberKernel
import EmberPerfData
import EmberReplay
import EmberSession
import EmberStacks
import Foundation
import SwiftProtobuf

public typealias OTLPRequest = Opentelemetry_Proto_Collector_Profiles_V1development_ExportProfilesServiceRequest
typealias OTLPProfile = Opentelemetry_Proto_Profiles_V1development_Profile
typealias OTLPSample = Opentelemetry_Proto_Profiles_V1development_Sample
typealias OTLPDictionary = Opentelemetry_Proto_Profiles_V1development_ProfilesDictionary
typealias OTLPAnyValue = Opentelemetry_Proto_Common_V1_AnyValue

/// `ember export --format otlp`: a recording as an OpenTelemetry `ExportProfilesServiceRequest` (profiles signal,
/// `v1development`, the wire format of opentelemetry-proto v1.10.0 and later), symbolized here: the backend gets
/// function names, files and lines (Swift demangled, inline frames as several lines of one location), not bare
/// addresses.
///
/// One ResourceProfiles per process (`process.pid`, `process.executable.name`, `host.name`, `service.name` when
/// given), one ScopeProfiles (Ember), one Profile per kind of time: the sampled event's (`cpu` nanoseconds for the
/// clock events) and, for a wall-clock recording, the off-CPU time (`off_cpu` nanoseconds). Every table of the
/// shared ProfilesDictionary starts with its zero value, as the spec requires. Samples with the same stack and
/// thread are one Sample with a value and a timestamp per sampled event; mappings carry their binary's build-id
/// as `process.executable.build_id.gnu`.
public struct OTLPBuilder: Sendable {
    public var eventName: String?
    /// Off-CPU time alone (`--off-cpu-only`): each sample's weight, nil to leave it out.
    public var weight: (@Sendable (Sample) -> UInt64?)?
    /// A wall-clock recording: the off-CPU stacks beside the samples, as a profile of their own.
    public var offCPU: OffCPUStacks?
    public var serviceName: String?
    /// More attributes for every resource (`agent --label`), after Ember's own (`reservedKeys`, which they must not
    /// repeat).
    public var resourceAttributes: [(key: String, value: String)] = []

    public init() {}

    /// The resource attributes Ember sets itself.
    public static let reservedKeys: Set<String> = ["process.pid", "process.executable.name", "host.name", "service.name"]

    /// The dictionary's tables, each with its zero value at index 0, and the indices of what they hold.
    private struct Tables {
        var d = OTLPDictionary()
        var strings: [String: Int32] = ["": 0]
        var attributes: [String: Int32] = [:]
        var functions: [String: Int32] = [:]
        var mappings: [Mapping: Int32] = [:]
        var locations: [LocationKey: Int32] = [:]
        var stacks: [[Int32]: Int32] = [:]

        /// A location: the run of frames its address shows as (or, unresolved, the address itself) and its mapping.
        struct LocationKey: Hashable {
            var run: Int
            var address: UInt64
            var mapping: Int32
        }

        init() {
            d.stringTable = [""]
            d.mappingTable = [.init()]
            d.locationTable = [.init()]
            d.functionTable = [.init()]
            d.linkTable = [.init()]
            d.attributeTable = [.init()]
            d.stackTable = [.init()]
            stacks[[]] = 0
        }

        mutating func string(_ s: String) -> Int32 {
            if let i = strings[s] { return i }
            let i = Int32(d.stringTable.count)
            d.stringTable.append(s)
            strings[s] = i
            return i
        }

        mutating func attribute(_ key: String, _ value: OTLPAnyValue.OneOf_Value) -> Int32 {
            let id = key + "\u{0}" + String(describing: value)
            if let i = attributes[id] { return i }
            let i = Int32(d.attributeTable.count)
            var kv = Opentelemetry_Proto_Profiles_V1development_KeyValueAndUnit()
            kv.keyStrindex = string(key)
            kv.value = .with { $0.value = value }
            d.attributeTable.append(kv)
            attributes[id] = i
            return i
        }

        mutating func stack(_ locations: [Int32]) -> Int32 {
            if let i = stacks[locations] { return i }
            let i = Int32(d.stackTable.count)
            d.stackTable.append(.with { $0.locationIndices = locations })
            stacks[locations] = i
            return i
        }
    }

    /// A profile being filled: its samples by stack and thread (`thread` numbers each distinct pair of thread
    /// attributes, `attributes`).
    private struct Draft {
        var samples: [OTLPSample] = []
        var index = IntegerMap(capacity: 256)
        var first = UInt64.max, last: UInt64 = 0

        mutating func add(stack: Int32, thread: Int32, attributes: [Int32], value: Int64, time: UInt64) {
            let key = UInt64(UInt32(bitPattern: stack)) << 32 | UInt64(UInt32(bitPattern: thread))
            if let i = index[key].map(Int.init) {
                samples[i].values.append(value)
                samples[i].timestampsUnixNano.append(time)
            } else {
                index.insert(Int32(samples.count), for: key)
                samples.append(.with {
                    $0.stackIndex = stack
                    $0.attributeIndices = attributes
                    $0.values = [value]
                    $0.timestampsUnixNano = [time]
                })
            }
            first = min(first, time)
            last = max(last, time)
        }
    }

    public func build(_ replay: Replay) throws -> OTLPRequest {
        guard let event = replay.eventIndex(named: eventName) else {
            throw CollapseError.noSuchEvent(eventName ?? "", available: replay.events.map(\.name))
        }
        let description = replay.events[event]
        let isClock = EventSpec.named(String(description.name.prefix { $0 != ":" }))?.isClock == true
        let buildIDs = Dictionary(replay.buildIDs.map { ($0.filename, $0.hex) }, uniquingKeysWith: { a, _ in a })
        let offEvent = offCPU.flatMap { replay.eventIndex(named: $0.eventName) }
        var t = Tables()
        // Per process: the on-CPU (or event) draft and the off-CPU one; samples come in runs of one process.
        var drafts: [[Draft]] = [], draftOf: [Int32: Int] = [:]
        var lastProcess: (pid: Int32, slot: Int)?
        var frames: [ResolvedFrame] = []
        // A chain seen before, its process unchanged, is the same stack; a thread's attributes, its name unchanged.
        var chains = ChainCache()
        var threads: [Int32: (names: UInt64, key: Int32)] = [:]
        var threadAttributes: [[Int32]] = [], threadKeys: [[Int32]: Int32] = [:]
        var lastTime: UInt64 = 0
        let model = replay.model
        let threadID = "thread.id", threadName = "thread.name"
        replay.forEachSample(event: offEvent == nil ? event : nil) { sample, sampled in
            let off = sampled == offEvent
            guard sampled == event || off else { return }
            var value = Int64(clamping: sample.period)
            if let weigh = off ? offCPU?.weight : weight {
                guard let w = weigh(sample) else { return }
                value = Int64(clamping: w)
            }
            let cached = ChainCache.caches(sample) ? chains.lookup(sample, root: 0, model: model) : nil
            let stack: Int32
            if case .hit(let known) = cached {
                stack = known
            } else {
                replay.resolver.frames(of: sample, into: &frames, symbolize: false)
                stack = t.stack(frames.map { location($0, pid: sample.pid, replay, buildIDs: buildIDs, &t) })
                if case .miss(let miss) = cached { chains.store(stack, for: sample, root: 0, at: miss, model: model) }
            }
            var thread = threads[sample.tid]
            if thread?.names != model.namesChanged {
                let attributes = [t.attribute(threadID, .intValue(Int64(sample.tid))), t.attribute(threadName, .stringValue(model.comm(tid: sample.tid)))]
                let key = threadKeys[attributes] ?? Int32(threadAttributes.count)
                if key == threadAttributes.count {
                    threadKeys[attributes] = key
                    threadAttributes.append(attributes)
                }
                thread = (model.namesChanged, key)
                threads[sample.tid] = thread
            }
            if sample.pid != lastProcess?.pid {
                let slot = draftOf[sample.pid] ?? drafts.count
                if slot == drafts.count {
                    draftOf[sample.pid] = slot
                    drafts.append([Draft(), Draft()])
                }
                lastProcess = (sample.pid, slot)
            }
            let key = thread!.key
            drafts[lastProcess!.slot][off || weight != nil ? 1 : 0]
                .add(stack: stack, thread: key, attributes: threadAttributes[Int(key)], value: value, time: sample.time)
            lastTime = max(lastTime, sample.time)
        }

        // Perf-clock times to Unix ones: the recording's clock data (or its file's time) gives one offset.
        let toUnix = replay.wallClockTime(of: 0, end: lastTime)
        let host = replay.file?.string(.hostname) ?? ProcessInfo.processInfo.hostName
        let period: Int64 = description.attr.flags.contains(.freq)
            ? (isClock && description.attr.samplePeriodOrFrequency > 0 ? Int64(1_000_000_000 / description.attr.samplePeriodOrFrequency) : 0)
            : Int64(clamping: description.attr.samplePeriodOrFrequency)
        let onType = isClock ? ("cpu", "nanoseconds") : (description.name, "count")
        var request = OTLPRequest()
        for pid in draftOf.keys.sorted() {
            var resource = Opentelemetry_Proto_Profiles_V1development_ResourceProfiles()
            resource.resource.attributes = [
                keyValue("process.pid", .intValue(Int64(pid))),
                keyValue("process.executable.name", .stringValue(executableName(pid, model))),
                keyValue("host.name", .stringValue(host)),
            ] + (serviceName.map { [keyValue("service.name", .stringValue($0))] } ?? [])
                + resourceAttributes.map { keyValue($0.key, .stringValue($0.value)) }
            var scope = Opentelemetry_Proto_Profiles_V1development_ScopeProfiles()
            scope.scope.name = "ember"
            scope.scope.version = String(EmberVersion.string.dropFirst("ember ".count))
            for (kind, draft) in drafts[draftOf[pid]!].enumerated() where !draft.samples.isEmpty {
                var profile = OTLPProfile()
                let (type, unit) = kind == 0 ? onType : ("off_cpu", "nanoseconds")
                profile.sampleType = .with { $0.typeStrindex = t.string(type); $0.unitStrindex = t.string(unit) }
                if kind == 0, period > 0 {
                    profile.periodType = profile.sampleType
                    profile.period = period
                }
                profile.samples = draft.samples.map { sample in
                    var s = sample
                    s.timestampsUnixNano = s.timestampsUnixNano.map { toUnix &+ $0 }
                    return s
                }
                // Every timestamp in [time, time + duration).
                profile.timeUnixNano = toUnix &+ draft.first
                profile.durationNano = (draft.last &- draft.first) &+ 1
                scope.profiles.append(profile)
            }
            resource.scopeProfiles = [scope]
            request.resourceProfiles.append(resource)
        }
        request.dictionary = t.d
        return request
    }

    /// The location of a sampled frame in process `pid`: one per distinct address run and mapping, its inlined
    /// functions as lines, the innermost first and the function they were inlined into last.
    private func location(_ frame: ResolvedFrame, pid: Int32, _ replay: Replay, buildIDs: [String: String], _ t: inout Tables) -> Int32 {
        let table = replay.frames
        let region = replay.model.mapping(pid: pid, address: replay.resolver.lookupAddress(of: frame))
        let mapping = region.map { self.mapping($0, replay.model, buildIDs: buildIDs, &t) } ?? 0
        var lines: [Int32] = []
        let run = table.forEachInfo(of: frame, pid: pid) { lines.append($0) }
        let key = Tables.LocationKey(run: run >= 0 ? run : (frame.isTruncation ? Int.min : -1), address: run >= 0 ? 0 : frame.address, mapping: mapping)
        if let known = t.locations[key] { return known }
        var location = Opentelemetry_Proto_Profiles_V1development_Location()
        location.mappingIndex = mapping
        location.address = frame.address
        for info in lines.reversed().map({ table.infos[Int($0)] }) where info.name != "[unknown]" {
            location.lines.append(.with {
                $0.functionIndex = function(info, &t)
                $0.line = Int64(info.line?.line ?? 0)
            })
        }
        let index = Int32(t.d.locationTable.count)
        t.d.locationTable.append(location)
        t.locations[key] = index
        return index
    }

    private func keyValue(_ key: String, _ value: OTLPAnyValue.OneOf_Value) -> Opentelemetry_Proto_Common_V1_KeyValue {
        .with {
            $0.key = key
            $0.value = .with { $0.value = value }
        }
    }

    /// The base name of the process's executable (as /proc/PID/exe's target), else its main thread's name.
    private func executableName(_ pid: Int32, _ model: ProcessModel) -> String {
        guard let exe = model.executable(pid: pid) else { return model.processName(pid, thread: pid) }
        let path = model.dsos[exe].path
        return String(path[(path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex)...])
    }

    /// The mapping of a region of one address space (a binary mapped into two processes at two addresses is two).
    private func mapping(_ region: Mapping, _ model: ProcessModel, buildIDs: [String: String], _ t: inout Tables) -> Int32 {
        if let i = t.mappings[region] { return i }
        let path = model.dsos[region.dso].path
        var m = Opentelemetry_Proto_Profiles_V1development_Mapping()
        m.memoryStart = region.start
        m.memoryLimit = region.end
        // Anonymous memory and perf maps keep their start as their offset in the model; they have no file.
        m.fileOffset = model.dsos[region.dso].hasFileOffsets ? region.pageOffset : 0
        m.filenameStrindex = t.string(path)
        if let buildID = buildIDs[path] { m.attributeIndices = [t.attribute("process.executable.build_id.gnu", .stringValue(buildID))] }
        let i = Int32(t.d.mappingTable.count)
        t.d.mappingTable.append(m)
        t.mappings[region] = i
        return i
    }

    private func function(_ info: FrameTable.Info, _ t: inout Tables) -> Int32 {
        let file = info.declaration?.file ?? info.line?.file ?? ""
        let key = info.rawName + "\u{0}" + file
        if let i = t.functions[key] { return i }
        var f = Opentelemetry_Proto_Profiles_V1development_Function()
        f.nameStrindex = t.string(info.name)
        f.systemNameStrindex = t.string(info.rawName)
        f.filenameStrindex = t.string(file)
        f.startLine = Int64(info.declaration?.line ?? 0)
        let i = Int32(t.d.functionTable.count)
        t.d.functionTable.append(f)
        t.functions[key] = i
        return i
    }
}
