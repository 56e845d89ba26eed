import EmberKernel
import EmberPerfData
import EmberSymbols
#if canImport(Glibc)
import Glibc
#endif

/// `ember record`: opens the events, drains the per-CPU rings into a perf.data file until the command exits, the
/// duration passes, or SIGINT/SIGTERM/SIGHUP arrives, and always leaves a file that Ember and perf can read.
public final class Recorder {
    public private(set) var options: RecordOptions
    var summary = RecordSummary()
    var executables = Set<String>()
    /// The tracepoints recorded, for HEADER_TRACING_DATA.
    var tracepoints: [(system: String, format: String)] = []
    /// With frame-pointer call chains: the layout to read them, and how many had at most two user frames.
    private var framePointerLayout: SampleLayout?
    private var shortUserStacks: UInt64 = 0
    /// Progress output goes to a terminal only.
    let showProgress: Bool
    /// A `--switch-output` recording's next file and what it starts with.
    var rotation: Rotation?
    /// `--switch-output-event`'s events.
    var trigger: SnapshotTrigger?
    /// `--snapshot-on-latency`'s probes.
    var slowCalls: SlowCallTrigger?
    /// A snapshot held less than `--history` asked, and the recording said so.
    var warnedShortHistory = false
    /// Probes that follow forks are defined through tracefs, and removed at the end.
    private let tracefsProbes = TracefsProbes()

    public init(options: RecordOptions) {
        self.options = options
        showProgress = options.progress && isatty(2) == 1
    }

    deinit {
        // Every event must be closed before tracefs lets its probe go.
        trigger = nil
        slowCalls = nil
        rotation = nil
        tracefsProbes.removeAll()
    }

    public func run() throws -> RecordSummary {
        if options.overwrite { return try runFlightRecorder() }
        let signals = SignalGuard(snapshots: options.switchOutput == .signal, active: options.ownsSignals)
        defer { signals.restore() }

        try validate()
        let writer: PerfDataWriter
        let path = options.switchOutput == nil ? options.output : Recorder.snapshotPath(options.output, after: nil)
        do {
            writer = try PerfDataWriter(path: path)
        } catch {
            throw RecordError.output("\(error)")
        }
        let groups: [EventGroup]
        let workload: Workload?
        let waiter: EventWaiter
        let encoder: RecordEncoder
        do {
            let resolved = try resolveEvents()
            workload = try launchWorkload()
            do {
                let described: [PerfDataWriter.Event]
                (groups, described) = try openSampleGroups(resolved, workload: workload)
                try writer.begin(events: described, features: startFeatures())
                encoder = RecordEncoder(attr: groups[0].attr, id: described[0].ids.first ?? 0)
                if let text = ProcScanner.kernelText() { try writer.append(encoder.kernelMmap(start: text.start, length: text.length)) }
                let store = options.switchOutput.map { _ in SideBand() }
                try synthesize(encoder: encoder) { record in
                    try writer.append(record)
                    record.withUnsafeBytes { store?.apply($0) }
                }
                try writer.appendFinishedRound()
                if let store { rotation = Rotation(path: path, events: described, encoder: encoder, store: store) }
                trigger = try openTrigger(workload: workload)
                waiter = try EventWaiter(rings: groups[0].rings + triggerGroups.flatMap(\.rings), snapshots: options.switchOutput == .signal,
                                         signals: options.ownsSignals)
                if case .command = options.target {} else if options.delay == nil { for g in groups + triggerGroups { try g.enable() } }
                // In place once everything is set up (an earlier failure leaves FILE and FILE.old as they were)
                // and before the workload runs: from here on a killed recorder leaves a readable file.
                try writer.flush()
            } catch {
                workload?.abandon()
                throw error
            }
        } catch {
            writer.abandon()
            throw RecordError(wrapping: error)
        }
        for g in groups { summary.notes.append(contentsOf: g.notes) }
        let group = groups[0]
        if options.callGraph == .framePointer, groups.count == 1 { framePointerLayout = SampleLayout(attr: group.attr) }

        let start = monotonicSeconds()
        summary.commandPID = workload?.pid
        do {
            try workload?.start()
        } catch {
            summary.notes.append("\(error)")
        }
        if let delay = options.delay {
            EventGroup.enable(groups + triggerGroups, after: delay, waiter: waiter, workload: workload) {
                // The command's exec went by with the events off: describe it as -p would.
                guard let pid = workload?.pid else { return }
                try? synthesize(encoder: encoder, only: [pid]) { record in
                    try writer.append(record)
                    record.withUnsafeBytes { rotation?.store.apply($0) }
                }
                try? writer.appendFinishedRound()
            }
        }
        // The file being written at the end (with --switch-output, the last of them).
        let last = drainLoop(groups: groups, writer: writer, workload: workload, waiter: waiter, start: start)
        summary.seconds = monotonicSeconds() - start
        if let workload {
            workload.terminate()
            summary.exitStatus = workload.waitForExit()
        }
        if framePointerLayout != nil, summary.samples >= 20, shortUserStacks * 2 > summary.samples {
            summary.notes.append("hint: \(shortUserStacks) of \(summary.samples) samples have at most two user frames, so the code probably has no frame pointers; --call-graph dwarf unwinds it")
        }
        let dropped = group.rings.reduce(0) { $0 + $1.droppedBytes }
        if dropped > 0 {
            summary.notes.append("\(dropped) bytes of ring buffer held a corrupt record header and were dropped")
        }
        finish(writer: last)
        return summary
    }

    func validate() throws {
        // The command's end arrives as SIGCHLD, which only a recorder that owns the signals reads.
        var runsCommand = false
        switch options.target {
        case .command: runsCommand = true
        case .allCPUs(let command): runsCommand = command != nil
        case .processes: break
        }
        if !options.ownsSignals, runsCommand {
            throw RecordError.output("a recording that leaves signals to its program (ownsSignals off) cannot run a command; record -p or -a")
        }
        let sampling = options.events.contains { if case .counter = $0.request { return true } else { return false } }
        if sampling, case .frequency(let f) = options.sampling, let max = Sysctl.perfEventMaxSampleRate.value, f > UInt64(max) {
            guard options.samplingIsDefault, max > 0 else { throw RecordError.frequencyTooHigh(requested: f, maximum: max) }
            options.sampling = .frequency(UInt64(max))
            summary.notes.append("kernel.perf_event_max_sample_rate is \(max); sampling at \(max) Hz instead of \(f) Hz")
        }
        if case .processes(let pids) = options.target {
            for pid in pids where pid <= 0 || !ProcScanner.exists(pid) { throw RecordError.noSuchProcess(pid) }
        }
    }

    func launchWorkload() throws -> Workload? {
        switch options.target {
        case .command(let argv), .allCPUs(let argv?): return try Workload(arguments: argv, stdoutToStderr: options.output == "-")
        default: return nil
        }
    }

    func resolveEvents() throws -> [ResolvedEvent] {
        var out: [ResolvedEvent] = []
        for (request, filter) in options.events {
            out += try EventResolver.resolve(request, filter: filter, pids: options.targetPIDs)
        }
        return out
    }

    /// What an opened event is for.
    enum Role {
        /// Samples into the file (or a flight recording's overwrite rings).
        case samples
        /// A flight recording's process records, into rings of their own.
        case sideBand
        /// `--switch-output-event`: each hit asks for a snapshot, and wakes the recorder.
        case trigger
    }

    /// The attr of an event as this recording opens it: what it samples, its call graphs, its targets.
    private func makeAttr(_ event: ResolvedEvent, enableOnExec: Bool, inherit: Bool, first: Bool, role: Role) -> EventAttr {
        var attr = event.attr
        // Only the first event reports mmap, comm and task records (the side-band event, when the samples go into
        // overwrite rings); the others would repeat them.
        let tracks = role == .sideBand || (role == .samples && first && !options.overwrite)
        attr.flags.formUnion(tracks ? [.mmap, .comm, .task, .sampleIDAll, .mmap2, .commExec, .watermark] : [.sampleIDAll, .watermark])
        if options.overwrite, role == .samples { attr.flags.insert(.writeBackward) }
        attr.sampleType.formUnion([.identifier, .ip, .tid, .time, .cpu, .period])
        switch role == .trigger ? .none : options.callGraph {
        case .none: break
        case .framePointer:
            attr.sampleType.insert(.callchain)
        case .dwarf(let bytes):
            // The kernel part of the chain still comes from the kernel; the user part from the copied stack.
            attr.sampleType.formUnion([.callchain, .regsUser, .stackUser])
            // Data mappings too: unwinders (perf's among them) read .eh_frame_hdr from a read-only segment.
            attr.flags.formUnion([.excludeCallchainUser, .mmapData])
            attr.sampleRegsUser = EventResolver.userRegisters  // CFI may restore any callee-saved register
            attr.sampleStackUser = bytes
        }
        if inherit, event.followsForks { attr.flags.insert(.inherit) }
        // Every event starts disabled: a command's are enabled by its exec, the others once the filters are set and
        // the existing processes synthesized, so that no record comes before them.
        attr.flags.insert(.disabled)
        if enableOnExec { attr.flags.insert(.enableOnExec) }
        if event.spec == nil {
            attr.samplePeriodOrFrequency = 1  // tracepoints and probes: every hit
        } else {
            switch options.sampling {
            case .frequency(let f):
                attr.flags.insert(.freq)
                attr.samplePeriodOrFrequency = f
            case .period(let p):
                attr.samplePeriodOrFrequency = p
            }
        }
        // Wake the reader when a quarter of the ring is used; the poll timeout drains the rest. A trigger wakes it
        // at every hit.
        attr.wakeup = UInt32(max(1, (role == .samples ? options.mmapPages : Recorder.sideBandPages) * RingBuffer.pageSize / 4))
        if role == .trigger {
            attr.flags.remove(.watermark)
            attr.wakeup = 1
        }
        return attr
    }

    /// Opens the sample events with one ring per CPU that all of them share (overwrite rings for a flight
    /// recording) and their filters, and describes them for the file.
    func openSampleGroups(_ resolved: [ResolvedEvent], workload: Workload?) throws -> (groups: [EventGroup], described: [PerfDataWriter.Event]) {
        let groups = try openEvents(resolved, workload: workload)
        try groups[0].mapRings(pages: options.mmapPages, overwrite: options.overwrite)
        for g in groups.dropFirst() { try g.redirect(to: groups[0].rings) }
        for g in groups { try g.applyFilter() }
        var described: [PerfDataWriter.Event] = []
        for g in groups { described.append(PerfDataWriter.Event(attr: g.attr, ids: try g.ids(), name: g.name)) }
        tracepoints = groups.compactMap { $0.event.tracepoint }
        return (groups, described)
    }

    func openEvents(_ resolved: [ResolvedEvent], workload: Workload?, role: Role = .samples) throws -> [EventGroup] {
        let cpus = options.cpus ?? OnlineCPUs.list()
        var groups: [EventGroup] = []
        for (i, event) in resolved.enumerated() {
            var e = event
            switch options.target {
            case .command:
                if options.inherit { e = try tracefsProbes.convert(e, notes: &summary.notes) }
                e.attr = makeAttr(e, enableOnExec: options.delay == nil, inherit: options.inherit, first: i == 0, role: role)
                let group = EventGroup(event: e)
                try group.open(targets: cpus.map { (workload!.pid, $0) }, describe: "profile the command")
                groups.append(group)
            case .processes(let pids):
                if options.inherit { e = try tracefsProbes.convert(e, notes: &summary.notes) }
                e.attr = makeAttr(e, enableOnExec: false, inherit: options.inherit, first: i == 0, role: role)
                let group = EventGroup(event: e)
                var targets: [(Int32, Int32)] = []
                for tid in options.threads ?? pids.flatMap(ProcScanner.threads(of:)) { for cpu in cpus { targets.append((tid, cpu)) } }
                try group.open(targets: targets, describe: "profile process \(pids.map(String.init).joined(separator: ","))")
                groups.append(group)
            case .allCPUs:
                e.attr = makeAttr(event, enableOnExec: false, inherit: false, first: i == 0, role: role)
                let group = EventGroup(event: e)
                try group.open(targets: cpus.map { (-1, $0) }, describe: "profile all CPUs")
                groups.append(group)
            }
        }
        return groups
    }

    /// Records for what existed before the recording: with -p or -a (or the given `only`) the processes' names and
    /// executable mappings (a command's come from the kernel at exec), handed to `sink`.
    func synthesize(encoder: RecordEncoder, only: [Int32]? = nil, _ sink: ([UInt8]) throws -> Void) throws {
        let isDwarf: Bool
        if case .dwarf = options.callGraph { isDwarf = true } else { isDwarf = false }
        let pids: [Int32]
        switch (only, options.target) {
        case (let only?, _): pids = only
        case (nil, .command): pids = []
        case (nil, .processes(let p)): pids = p
        case (nil, .allCPUs): pids = ProcScanner.allProcesses()
        }
        for pid in pids {
            for tid in ProcScanner.threads(of: pid) {
                if let comm = ProcScanner.comm(pid: pid, tid: tid) {
                    try sink(encoder.comm(pid: pid, tid: tid, name: comm))
                }
            }
            for m in ProcScanner.mappings(pid: pid, includeData: isDwarf) {
                if m.isExecutable, m.filename.hasPrefix("/") { executables.insert(m.filename) }
                try sink(encoder.mmap2(m))
            }
        }
    }

    /// The feature sections known before recording: the machine, the command line, the tracepoints' formats.
    func startFeatures() -> [(Feature, [UInt8])] {
        var features: [(Feature, [UInt8])] = []
        var u = utsname()
        uname(&u)
        func field<T>(_ v: T) -> String { withUnsafeBytes(of: v) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } }
        features.append((.hostname, FeatureEncoding.string(field(u.nodename))))
        features.append((.osRelease, FeatureEncoding.string(field(u.release))))
        features.append((.version, FeatureEncoding.string(EmberVersion.string)))
        features.append((.arch, FeatureEncoding.string(field(u.machine))))
        features.append((.nrCPUs, FeatureEncoding.cpuCount(available: UInt32(sysconf(Int32(_SC_NPROCESSORS_CONF))),
                                                           online: UInt32(OnlineCPUs.list().count))))
        if let desc = SystemInfo.cpuDescription { features.append((.cpuDesc, FeatureEncoding.string(desc))) }
        if let kb = SystemInfo.totalMemoryKB { features.append((.totalMem, FeatureEncoding.totalMemory(kilobytes: kb))) }
        features.append((.cmdline, FeatureEncoding.stringList(options.commandLine)))
        if !tracepoints.isEmpty {
            let systems = Dictionary(grouping: tracepoints, by: \.system).sorted { $0.key < $1.key }
                .map { TracingData.System(name: $0.key, formats: $0.value.map(\.format)) }
            let root = Tracefs.path + "/events/"
            features.append((.tracingData, TracingData.encode(headerPage: readSmallFile(root + "header_page") ?? "",
                                                              headerEvent: readSmallFile(root + "header_event") ?? "",
                                                              systems: systems,
                                                              printkFormats: readSmallFile(Tracefs.path + "/printk_formats") ?? "",
                                                              pageSize: RingBuffer.pageSize)))
        }
        return features
    }

    /// Adds the features known only at the end (names, build-ids of what ran) and finishes the file.
    func finish(writer: PerfDataWriter) {
        do {
            try writer.finish(features: [(.eventDesc, writer.eventDescription()), (.buildID, FeatureEncoding.buildIDs(buildIDs()))])
        } catch {
            summary.notes.append("\(error); the file may lack its feature sections, but its records are readable")
            summary.writeFailed = true
        }
        let earlier = rotation?.finished ?? (samples: 0, dropped: 0, bytes: 0)
        summary.samples = earlier.samples + writer.writtenSamples
        summary.dropped = earlier.dropped + writer.droppedSamples
        summary.bytes = earlier.bytes + writer.fileBytes
        summary.replacedOld = writer.replacedOld
        if let rotation { summary.snapshots = rotation.files }
    }

    func buildIDs() -> [BuildIDEntry] {
        var entries: [BuildIDEntry] = []
        if let kernel = KernelSymbols.runningBuildID {
            entries.append(BuildIDEntry(pid: -1, buildID: kernel, filename: "[kernel.kallsyms]", cpuMode: .kernel))
        }
        for path in executables.sorted() {
            if let id = ElfImage.buildID(ofFile: path) {
                entries.append(BuildIDEntry(pid: -1, buildID: id, filename: path, cpuMode: .user))
            }
        }
        return entries
    }

    // MARK: The drain loop

    private func drainLoop(groups: [EventGroup], writer: PerfDataWriter, workload: Workload?, waiter: EventWaiter,
                           start: Double) -> PerfDataWriter {
        let group = groups[0]
        let deadline = options.duration.map { start + $0 }
        var lastProgress = start
        var writeFailed = false
        var writer = writer
        while true {
            var timeout = 100
            if let deadline { timeout = max(0, min(timeout, Int((deadline - monotonicSeconds()) * 1000))) }
            waiter.wait(timeoutMS: timeout)
            if let rotation, rotation.failed {
                for ring in group.rings { _ = ring.drain { writer.countDropped($0) } }
            } else if let error = drainAll(group, writer: writer) {
                guard let rotation else {
                    summary.notes.append("\(error); recording stopped, and the file keeps what was recorded until then")
                    writeFailed = true
                    break
                }
                // With --switch-output a full disk costs this file's samples until the next one, not the recording.
                rotation.failed = true
                summary.writeFailed = true
                fputs("ember: warning: \(error); \(rotation.files.last ?? "the file") keeps what was written, and samples are dropped until the next file starts\n", stderr)
            }
            let reason = stopReason(waiter: waiter, workload: workload, deadline: deadline) { rotation?.signalled = true }
            if let trigger, trigger.fired(minimumInterval: options.snapshotMinInterval) { rotation?.signalled = true }
            if let rotation, reason == nil, isDue(writer, rotation), let next = rotate(writer, rotation) {
                writer = next
            }
            if let reason {
                if let reason { summary.notes.append(reason) }
                break
            }
            if showProgress, monotonicSeconds() - lastProgress >= 1 {
                lastProgress = monotonicSeconds()
                printProgress(elapsed: lastProgress - start)
            }
        }
        for g in groups + triggerGroups { g.disable() }
        if writeFailed {
            summary.writeFailed = true
            // The command is the user's: a full disk ends the recording, not the command. Wait for it (or for
            // a signal) without recording.
            while workload != nil, stopReason(waiter: waiter, workload: workload, deadline: deadline) == nil {
                waiter.wait(timeoutMS: 100)
            }
            // What the rings still hold can no longer reach the file: count its samples as dropped.
            for ring in group.rings {
                _ = ring.drain { writer.countDropped($0) }
            }
        } else if rotation?.failed == true {
            for ring in group.rings { _ = ring.drain { writer.countDropped($0) } }
        } else if let error = drainAll(group, writer: writer) {
            summary.notes.append("\(error); the file keeps what was recorded until then")
            summary.writeFailed = true
        }
        if showProgress { fputs("\r\u{1b}[K", stderr) }
        return writer
    }

    /// Why recording should stop now: `.some(nil)` for a normal end, `.some(note)` to say why, nil to go on.
    /// A flight recording's SIGUSR2 calls `snapshot`.
    func stopReason(waiter: EventWaiter, workload: Workload?, deadline: Double?, snapshot: () -> Void = {}) -> String?? {
        var interrupted: String?
        while let signal = waiter.nextSignal() {
            if signal == SIGUSR2 { snapshot() }
            if signal == SIGINT { interrupted = "interrupted (SIGINT); the recording was saved" }
            if signal == SIGTERM { interrupted = "terminated (SIGTERM); the recording was saved" }
            if signal == SIGHUP { interrupted = "hung up (SIGHUP); the recording was saved" }
        }
        if let interrupted { return .some(interrupted) }
        if let workload, workload.pollExit() != nil { return .some(nil) }
        if let deadline, monotonicSeconds() >= deadline { return .some(nil) }
        if case .processes(let pids) = options.target, !pids.contains(where: ProcScanner.exists) {
            return .some(nil)
        }
        return nil
    }

    /// Drains every ring into the writer; the error when writing failed (a full disk).
    private func drainAll(_ group: EventGroup, writer: PerfDataWriter) -> Error? {
        var wrote = false
        do {
            for ring in group.rings {
                let n = try ring.drain { record in
                    try account(record)
                    try writer.append(record)
                }
                if n > 0 { wrote = true }
            }
            if wrote {
                try writer.appendFinishedRound()
                // Hand the round to the kernel now, so that a recorder killed outright loses at most one round.
                try writer.flush()
            }
            return nil
        } catch {
            return error
        }
    }

    /// Counts what the drained records say, and notes the binaries mapped executable for their build-ids.
    @inline(__always)
    private func account(_ record: UnsafeRawBufferPointer) throws {
        let type = RecordType(rawValue: record.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        switch type {
        case .sample:
            summary.samples += 1
            if let layout = framePointerLayout, let sample = Sample(record: record, layout: layout),
               Recorder.userFrames(sample) <= 2 {
                shortUserStacks += 1
            }
        case .lost: summary.lost += LostRecord(record: record)?.lost ?? 0
        case .throttle: summary.throttled += 1
        case .mmap2:
            if let m = MmapRecord(record: record, type: type), m.isExecutable, m.filename.hasPrefix("/") {
                executables.insert(m.filename)
            }
            rotation?.store.apply(record)
        case .comm, .mmap, .fork, .exit: rotation?.store.apply(record)
        default: break
        }
    }

    /// The user entries of a frame-pointer call chain (those after PERF_CONTEXT_USER).
    private static func userFrames(_ sample: Sample) -> Int {
        var count = 0, inUser = sample.cpuMode == .user && sample.callchainCount > 0
        for i in 0..<sample.callchainCount {
            let entry = sample.callchainEntry(i)
            if entry >= CallchainContext.max {
                inUser = entry == CallchainContext.user
            } else if inUser {
                count += 1
            }
        }
        return count
    }

    private func printProgress(elapsed: Double) {
        let line = "\r[ ember record: \(Int(elapsed)) s, \(summary.samples) samples, \(summary.lost) lost ]"
        fputs(line, stderr)
    }
}
