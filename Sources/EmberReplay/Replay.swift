import EmberKernel
import EmberPerfData
import EmberSession
import EmberSymbols
import EmberUnwind
#if canImport(Glibc)
import Glibc
#endif

/// Streams a recording through the process model and hands each sample to a consumer, with its frames resolved.
/// The records come from a file, or live from a recording in progress (`LiveRecords`), read again at each refresh.
public final class Replay {
    /// The recording read; nil for a live one.
    public let file: PerfDataFile?
    public let source: any RecordSource
    public var events: [EventDescription] { source.events }
    public let model = ProcessModel()
    public let symbolizer: Symbolizer
    public let resolver: FrameResolver
    /// The frames each location shows as, shared by the consumers of this replay.
    public let frames: FrameTable
    /// Records the kernel dropped (PERF_RECORD_LOST), samples it dropped before the buffer (LOST_SAMPLES), times it
    /// throttled sampling (THROTTLE), and samples parsed. (Counted per record from one thread: exempt from the
    /// dynamic exclusivity checks, which cost more than the counting.)
    @exclusivity(unchecked) public private(set) var lostRecords: UInt64 = 0
    @exclusivity(unchecked) public private(set) var lostSamples: UInt64 = 0
    @exclusivity(unchecked) public private(set) var throttled: UInt64 = 0
    @exclusivity(unchecked) public private(set) var samples: UInt64 = 0
    @exclusivity(unchecked) public private(set) var malformedSamples: UInt64 = 0
    /// Samples outside it are skipped, as if not recorded (`--comms`, `--pids`, `--tids`, `--cpu`).
    public var filter = SampleFilter()
    /// The last process `filter.processTrees` was asked about, and whether it is inside.
    @exclusivity(unchecked) private var treeAnswer: (pid: Int32, inside: Bool) = (-1, false)

    /// An archive's unwinds: replayed (reading an archive) or filled (`archiving`).
    public let walks: UnwindArchive?

    /// `unwinder` makes what walks the user stacks of `--call-graph dwarf` samples. `archiving` keeps every symbol
    /// and unwind the replay works out, for `ember archive`. An archive (`ArchiveContainer`) replays from what it
    /// holds.
    public convenience init(path: String, symbols: SymbolOptions = SymbolOptions(), unwinder: UnwinderFactory = .ember, archiving: Bool = false) throws {
        try self.init(file: try PerfDataFile(path: path), symbols: symbols, unwinder: unwinder, archiving: archiving)
    }

    /// Replays a recording in progress: each `forEachSample` reads the records that arrived since the last, and the
    /// processes, symbols and unwinds carry over from one reading to the next.
    public convenience init(live: LiveRecords, symbols: SymbolOptions = SymbolOptions(), unwinder: UnwinderFactory = .ember) {
        self.init(source: live, file: nil, symbols: symbols, unwinder: unwinder, walks: nil)
    }

    /// Replays a recording already opened (one read from memory, say).
    public convenience init(file: PerfDataFile, symbols: SymbolOptions = SymbolOptions(), unwinder: UnwinderFactory = .ember, archiving: Bool = false) throws {
        var symbols = symbols
        for entry in file.buildIDs {
            if entry.cpuMode == .kernel, entry.filename == "[kernel.kallsyms]" {
                symbols.expectedKernelBuildID = entry.buildID
            } else if entry.cpuMode == .user {
                symbols.expectedBuildIDs[entry.filename] = entry.buildID
            }
        }
        var walks: (UnwindArchive, capturing: Bool, symbols: SymbolArchive)?
        if let sections = file.archiveSections {
            guard unwinder.name == UnwinderFactory.ember.name, !symbols.perfCompatible, symbols.symfs == nil else {
                throw PerfDataError.unsupported("an archive holds Ember's own symbols and unwinds; read it without --perf-compat, --unwinder libunwind and --symfs, or read the original recording")
            }
            do {
                walks = (try UnwindArchive(decoding: sections[ArchiveContainer.Section.unwinds.rawValue] ?? []), false,
                         try SymbolArchive(decoding: sections[ArchiveContainer.Section.symbols.rawValue] ?? []))
            } catch {
                throw PerfDataError.corrupt("\(error)")
            }
        } else if archiving {
            walks = (UnwindArchive(), true, SymbolArchive())
        }
        self.init(source: file, file: file, symbols: symbols, unwinder: unwinder, walks: walks)
    }

    /// `walks`: an archive's unwinds and symbols to replay from, or (`capturing`) empty ones to fill.
    private init(source: any RecordSource, file: PerfDataFile?, symbols: SymbolOptions, unwinder: UnwinderFactory,
                 walks: (UnwindArchive, capturing: Bool, symbols: SymbolArchive)?) {
        self.source = source
        self.file = file
        symbolizer = Symbolizer(model: model, options: symbols)
        if let walks {
            if walks.capturing { symbolizer.capture = walks.symbols } else { symbolizer.archive = walks.symbols }
        }
        self.walks = walks?.0
        let live = unwinder.make(model, symbolizer)
        if let file, let ember = live as? Unwinder { ember.uprobeReturns = Replay.uprobeReturns(file) }
        resolver = FrameResolver(model: model, symbolizer: symbolizer, unwinder: live,
                                 walks: walks.map { ($0.0, capturing: $0.capturing) })
        frames = FrameTable(resolver: resolver, model: model)
    }

    /// The times of the first and last sample: as the recording's HEADER_SAMPLE_TIME notes them, or from a pass
    /// over the records that reads nothing else; nil without samples (and for a live recording).
    public lazy var sampleSpan: (first: UInt64, last: UInt64)? = {
        guard let file else { return nil }
        if let noted = file.section(.sampleTime), noted.count >= 16 {
            let first = noted.loadUnaligned(fromByteOffset: 0, as: UInt64.self), last = noted.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
            if first > 0, first <= last { return (first, last) }
        }
        return span(of: [.sample])
    }()

    /// The times of the first and last sample or task context switch (a recording that follows tasks has switches
    /// before its first sample and after its last), from a pass over the records; nil for a live recording.
    public lazy var sampleAndSwitchSpan: (first: UInt64, last: UInt64)? = span(of: [.sample, .switchTask])

    private func span(of types: Set<RecordType>) -> (first: UInt64, last: UInt64)? {
        guard let file else { return nil }
        var span: (first: UInt64, last: UInt64)?
        let progress = file.progress
        file.progress = nil
        defer { file.progress = progress }
        file.forEachRecord { record in
            guard types.contains(record.type) else { return }
            span = (min(span?.first ?? record.time, record.time), max(span?.last ?? record.time, record.time))
        }
        return span
    }

    /// The addresses a recording's uretprobes returned to, for the unwinder to put in their trampolines' place; nil
    /// without return probes or DWARF stacks (a frame-pointer chain has them put back by the kernel).
    private static func uprobeReturns(_ file: PerfDataFile) -> UprobeReturns? {
        let returning = Set(file.events.indices.filter { file.events[$0].name.hasPrefix("uretprobe:") })
        guard !returning.isEmpty, file.events.contains(where: { $0.layout.unwindsUserStack }) else { return nil }
        var returns: [(tid: Int32, time: UInt64, address: UInt64)] = []
        var sample = Sample()
        let progress = file.progress
        file.progress = nil
        defer { file.progress = progress }
        file.forEachRecord { record in
            guard record.type == .sample, returning.contains(record.eventIndex),
                  sample.load(record: record.bytes, layout: file.events[record.eventIndex].layout) else { return }
            returns.append((sample.tid, sample.time, sample.ip))
        }
        return UprobeReturns(returns)
    }

    /// The build-ids the recording noted (none for a live one: its binaries are this machine's own).
    public var buildIDs: [BuildIDEntry] { file?.buildIDs ?? [] }

    /// Nanoseconds since the epoch at the perf-clock `time`, `end` being the last sample's: from the recording's
    /// clock data, or else counted back from when the file was written (for a live recording, from now).
    public func wallClockTime(of time: UInt64, end: UInt64) -> UInt64 {
        if let file { return file.wallClockTime(of: time, end: end) }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec) &- (end &- time)
    }

    /// The event index named `name` (or, with nil, the first event), or nil when the file has no such event.
    public func eventIndex(named name: String?) -> Int? {
        guard let name else { return 0 }
        return events.firstIndex { $0.name == name || $0.name.hasPrefix(name + ":") }
    }

    /// Visits every sample of event `eventIndex` (all events when nil) in time order; `lost` hears of each LOST
    /// record where it stands in time (its time, 0 when the record has none), and `switched` of each context switch
    /// of a task (in the filter's time spans). Samples of `unfiltered` pass whatever the filter says (the wakeups
    /// whose wakers may be any process, or an interrupt's).
    ///
    /// Events of one name are one event: a USDT probe the compiler copied (inlined, unrolled) is recorded as an event
    /// per site. `body` hears each sample under the first index of its name, which `eventIndex(named:)` gives.
    public func forEachSample(event eventIndex: Int?, unfiltered: Int? = nil, lost: (UInt64) -> Void = { _ in },
                              switched: (SwitchRecord) -> Void = { _ in }, _ body: (Sample, Int) throws -> Void) rethrows {
        // Read once: indexing `file.events` per record copied the whole description each time.
        let layouts = events.map(\.layout)
        let named = events.map { event in events.firstIndex { $0.name == event.name }! }
        let eventIndex = eventIndex.map { named[$0] }, unfiltered = unfiltered.map { named[$0] }
        // A frame-pointer recording's leaf-repair blocks and a DWARF recording's stack tails, kept beside its
        // samples (`SampleSideData`).
        let sides = file?.hasSideData == true ? file : nil
        let tails = symbolizer.options.stackTails, chains = symbolizer.options.asyncStacks
        var sample = Sample()
        try source.forEachRecord { record in
            switch record.type {
            case .sample:
                let index = named[record.eventIndex]
                guard eventIndex == nil || index == eventIndex else { return }
                guard sample.load(record: record.bytes, layout: layouts[record.eventIndex]) else {
                    malformedSamples += 1
                    return
                }
                if let sides, let side = sides.sideBlock(of: record.bytes), !sample.loadSideBlock(side.block, regsMask: side.regsMask) {
                    malformedSamples += 1
                    return
                }
                if let sides {
                    if tails, sample.unwindsUserStack { sample.stackTail = sides.stackTail(of: record.bytes, tid: sample.tid) }
                    if chains { sample.asyncChains = sides.asyncChains(of: record.bytes) }
                }
                samples += 1
                if !filter.isEmpty, index != unfiltered {
                    guard filter.accepts(sample, comm: model.comm(tid: sample.tid), processComm: model.comm(tid: sample.pid)) else { return }
                    if let roots = filter.processTrees {
                        // Samples come in runs of one process: its answer is kept until another's comes.
                        if sample.pid != treeAnswer.pid { treeAnswer = (sample.pid, roots.contains { model.isDescendant(sample.pid, of: $0) }) }
                        guard treeAnswer.inside else { return }
                    }
                    if filter.checksLocation, !sampledLocationPasses(sample) { return }
                }
                try body(sample, index)
            case .lost:
                lostRecords = lostRecords.saturatingAdd(LostRecord(record: record.bytes)?.lost ?? 0)
                lost(record.time)
            case .lostSamples:
                lostSamples = lostSamples.saturatingAdd(record.bytes.count >= 16 ? record.bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self) : 0)
            case .throttle:
                throttled += 1
            case .switchTask:
                guard let change = SwitchRecord(record: record.bytes, misc: record.misc, layout: layouts[record.eventIndex]) else { return }
                if let times = filter.times, !times.contains(where: { $0.contains(change.time) }) { return }
                switched(change)
            default:
                model.apply(record)
            }
        }
    }

    /// `--dsos` and `--symbols`: whether the sampled address (the IP, as perf checks it) is in one of them.
    private func sampledLocationPasses(_ sample: Sample) -> Bool {
        let location = model.resolve(pid: sample.pid, address: sample.ip)
        if let dsos = filter.dsos {
            guard let location else { return dsos.contains("[unknown]") }
            let path = model.dsos[location.dso].path
            guard dsos.contains(path) || dsos.contains(String(path.split(separator: "/").last ?? "")) else { return false }
        }
        if let symbols = filter.symbols {
            guard let hit = location.flatMap(symbolizer.symbol(at:)) else { return symbols.contains("[unknown]") }
            return symbols.contains(hit.name) || symbols.contains(hit.rawName)
        }
        return true
    }

    /// Everything worth a warning once the replay is done: file problems, unreadable binaries, lost events.
    public var warnings: [String] {
        var out = source.warnings + symbolizer.warnings
        if lostRecords > 0 { out.append("\(lostRecords) events were lost while recording (the ring buffer was full); use a larger -m or a lower -F") }
        if lostSamples > 0 { out.append("\(lostSamples) samples were dropped by the kernel before reaching the ring buffer") }
        if throttled > 0 { out.append("the kernel throttled sampling \(throttled) times (kernel.perf_event_max_sample_rate); those periods have fewer samples") }
        if malformedSamples > 0 { out.append("\(malformedSamples) malformed samples were skipped") }
        let truncated = resolver.truncatedStacks, unwound = resolver.unwoundStacks
        if unwound > 0, truncated * 10 > unwound {
            // The copy this recording made, and twice it up to the kernel's largest (65528 bytes).
            let copied = events.map { Int($0.attr.sampleStackUser) }.max() ?? 8192
            let larger = min(copied * 2, 65528) / 8 * 8
            out.append("\(truncated) of \(unwound) DWARF-unwound stacks stop early (marked [truncated]); "
                + (larger > copied ? "a larger stack copy (--call-graph dwarf,\(larger)) may reach further"
                                   : "the recording copied the most the kernel allows (\(copied) bytes), and these stacks go deeper"))
        }
        return out
    }
}
