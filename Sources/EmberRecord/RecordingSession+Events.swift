import EmberKernel
import EmberPerfData

/// Opening events on the session's targets, for every sink.
extension RecordingSession {
    /// What an opened event is for.
    enum Role {
        /// Samples into the file (or a flight recording's overwrite rings).
        case samples
        /// A flight recording's process records, into rings of their own.
        case sideBand
        /// `--switch-output-event` and `--snapshot-on-latency`: each hit asks for a snapshot, and wakes the recorder.
        case trigger
        /// `stat`: exact counts, read from the events; no records, no rings.
        case counting
    }

    /// Pages of a side-band or trigger ring per CPU: their records are few.
    static let sideBandPages = 16

    /// The (task, CPU) pairs to open one event on: the command's first task or each thread of `-p` on each of
    /// `taskCPUs` (-1: one event per task that follows it onto any CPU), or every CPU of `-a` (and of an event
    /// recorded on `allCPUs` whatever the target).
    private func targets(taskCPUs: [Int32], allCPUs: Bool) -> [(pid: Int32, cpu: Int32)] {
        switch allCPUs ? .allCPUs(command: nil) : options.target {
        case .command:
            return taskCPUs.map { (workload!.pid, $0) }
        case .processes(let pids):
            var targets: [(Int32, Int32)] = []
            for tid in options.threads ?? pids.flatMap(ProcScanner.threads(of:)) { for cpu in taskCPUs { targets.append((tid, cpu)) } }
            return targets
        case .allCPUs:
            return (options.cpus ?? OnlineCPUs.list()).map { (-1, $0) }
        }
    }

    /// Opens `event` on `targets` and keeps it with the session's groups (enabled, disabled and closed with them).
    private func openGroup(_ event: ResolvedEvent, on targets: [(pid: Int32, cpu: Int32)], describe: String,
                           fallsBackToCPUClock: Bool) throws -> EventGroup {
        let group = EventGroup(event: event)
        group.fallsBackToCPUClock = fallsBackToCPUClock
        try group.open(targets: targets, describe: describe)
        groups.append(group)
        return group
    }

    /// Opens each event for `role` on one event per target and CPU (counting: per task on any CPU, unless `-C`).
    func openEvents(_ resolved: [ResolvedEvent], role: Role = .samples) throws -> [EventGroup] {
        let counting = role == .counting
        let taskCPUs = options.cpus ?? (counting ? [-1] : OnlineCPUs.list())
        let verb = counting ? "count events" : "profile"
        var opened: [EventGroup] = []
        for (i, event) in resolved.enumerated() {
            var e = event
            let describe: String
            var inherit = false, enableOnExec = false
            switch event.allCPUs ? .allCPUs(command: nil) : options.target {
            case .command:
                describe = "\(verb)\(counting ? " of" : "") the command"
                enableOnExec = options.delay == nil
                inherit = options.inherit
            case .processes(let pids):
                describe = "\(verb)\(counting ? " of" : "") process \(pids.map(String.init).joined(separator: ","))"
                inherit = options.inherit
            case .allCPUs:
                describe = "\(verb)\(counting ? " on" : "") all CPUs"
            }
            if inherit { e = try tracefsProbes.convert(e, notes: &summary.notes) }
            e.attr = makeAttr(e, enableOnExec: enableOnExec, inherit: inherit, first: i == 0, role: role)
            opened.append(try openGroup(e, on: targets(taskCPUs: taskCPUs, allCPUs: event.allCPUs), describe: describe,
                                        fallsBackToCPUClock: !counting))
        }
        return opened
    }

    /// The attr of an event as this recording opens it: what it samples, its call graphs, its targets.
    private func makeAttr(_ event: ResolvedEvent, enableOnExec: Bool, inherit: Bool, first: Bool, role: Role) -> EventAttr {
        var attr = event.attr
        // Every event starts disabled: a command's are enabled by its exec, the others once the filters are set and
        // the existing processes synthesized, so that no record comes before them.
        attr.flags.insert(.disabled)
        if enableOnExec { attr.flags.insert(.enableOnExec) }
        if inherit, event.followsForks { attr.flags.insert(.inherit) }
        if role == .counting {
            // Counting: no sampling period, no records; every hit counted, with the times enabled and running.
            attr.samplePeriodOrFrequency = 0
            attr.sampleType = []
            attr.sampleRegsUser = 0
            attr.readFormat = PerfEvent.countReadFormat
            return attr
        }
        // Only the first event reports mmap, comm and task records (the side-band event, when the samples go into
        // overwrite rings); the others would repeat them.
        let tracks = role == .sideBand || (role == .samples && first && !options.overwrite)
        attr.flags.formUnion(tracks ? [.mmap, .comm, .task, .sampleIDAll, .mmap2, .commExec, .watermark] : [.sampleIDAll, .watermark])
        if tracks, role == .samples, options.contextSwitches { attr.flags.insert(.contextSwitch) }
        if options.overwrite, role == .samples { attr.flags.insert(.writeBackward) }
        attr.sampleType.formUnion([.identifier, .ip, .tid, .time, .cpu, .period])
        switch role == .trigger || !event.stacks ? .none : options.callGraph {
        case .none: break
        case .framePointer:
            attr.sampleType.insert(.callchain)
            // A uprobe at a function's entry: the kernel reads the caller's address at the stack pointer only when
            // the function begins by pushing a frame pointer, and libc's do not (malloc's caller was lost: its
            // chain went on from the caller's caller).
            if options.repairsLeaves, event.takesLeafRepair {
                attr.sampleType.formUnion([.regsUser, .stackUser])
                attr.sampleRegsUser |= RecordOptions.leafRegisters  // a probe's argument registers stay
                // A uprobe's return address is at the stack pointer (at the entry) or just above it: a probed
                // function may be called in a tight loop, and 512 bytes a hit lost a fifth of 1,000 calls.
                attr.sampleStackUser = event.name.hasPrefix("uprobe:") ? RecordOptions.probeStackBytes
                    : event.name.hasPrefix("usdt:") ? RecordOptions.probeSiteStackBytes : RecordOptions.leafStackBytes
            }
        case .dwarf(let bytes):
            // The kernel part of the chain still comes from the kernel; the user part from the copied stack.
            attr.sampleType.formUnion([.callchain, .regsUser, .stackUser])
            // Data mappings too: unwinders (perf's among them) read .eh_frame_hdr from a read-only segment.
            attr.flags.formUnion([.excludeCallchainUser, .mmapData])
            attr.sampleRegsUser = EventResolver.userRegisters  // CFI may restore any callee-saved register
            attr.sampleStackUser = bytes
        }
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
        attr.wakeup = UInt32(max(1, (role == .samples ? options.mmapPages : RecordingSession.sideBandPages) * RingBuffer.pageSize / 4))
        if role == .trigger {
            attr.flags.remove(.watermark)
            attr.wakeup = 1
        }
        return attr
    }

    /// The sample events as opened: the rings they share, how a file describes them, and the encoder of the records
    /// Ember writes for them (the processes that existed before).
    struct SampleEvents {
        let groups: [EventGroup]
        let described: [EventDescription]
        let encoder: RecordEncoder
        var rings: [RingBuffer] { groups[0].rings }
    }

    /// Opens the sample events with one ring per CPU (or task) that all of them share (overwrite rings for a flight
    /// recording) and their filters, and describes them.
    func openSampleEvents(_ resolved: [ResolvedEvent]) throws -> SampleEvents {
        let groups = try openEvents(resolved)
        try EventGroup.shareRings(groups, pages: options.mmapPages, overwrite: options.overwrite)
        for g in groups { try g.applyFilter() }
        let described = try groups.map { EventDescription(attr: $0.attr, ids: try $0.ids(), name: $0.name) }
        tracepoints = groups.compactMap { $0.event.tracepoint }
        return SampleEvents(groups: groups, described: described, encoder: RecordEncoder(attr: groups[0].attr, id: described[0].ids.first ?? 0))
    }

    /// Counts what a drained record says (samples, lost events, throttling) and notes the binaries mapped
    /// executable, for their build-ids; the record's type.
    @inline(__always)
    func tally(_ record: UnsafeRawBufferPointer) -> RecordType {
        let type = RecordType(rawValue: record.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        switch type {
        case .sample: summary.samples += 1
        case .lost: summary.lost += LostRecord(record: record)?.lost ?? 0
        case .throttle: summary.throttled += 1
        case .mmap2:
            if let m = MmapRecord(record: record, type: type), m.isExecutable, m.filename.hasPrefix("/") { executables.insert(m.filename) }
        default: break
        }
        return type
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

    /// Opens `--switch-output-event`'s events on the recording's targets, or nil without one.
    func openTrigger() throws -> SnapshotTrigger? {
        guard let request = options.snapshotEvent else { return nil }
        let groups = try openEvents(try EventResolver.resolve(request, filter: nil, pids: options.targetPIDs), role: .trigger)
        try EventGroup.shareRings(groups, pages: RecordingSession.sideBandPages)
        return SnapshotTrigger(group: groups[0])
    }

    /// Opens `--snapshot-on-latency`'s probes on the recording's targets, or nil without one.
    func openSlowCallTrigger() throws -> SlowCallTrigger? {
        guard let call = options.slowCall else { return nil }
        let pids = options.targetPIDs
        let entry = try openEvents(try EventResolver.resolve(.uprobe(binary: call.binary, location: .symbol(call.symbol, offset: 0), isReturn: false), filter: nil, pids: pids),
                                   role: .trigger)[0]
        let exit = try openEvents(try EventResolver.resolve(.uprobe(binary: call.binary, location: .symbol(call.symbol, offset: 0), isReturn: true), filter: nil, pids: pids),
                                  role: .trigger)[0]
        try EventGroup.shareRings([entry, exit], pages: RecordingSession.sideBandPages)
        return try SlowCallTrigger(symbol: call.symbol, entry: entry, exit: exit, threshold: call.nanoseconds)
    }
}
