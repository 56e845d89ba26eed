import EmberKernel
import EmberPerfData
#if canImport(Glibc)
import Glibc
#endif

/// The flight recorder (`ember record --overwrite`): the samples stay in the kernel's overwrite rings, which keep
/// the newest and never stop the traced system; the recorder reads only the small side-band ring of process
/// records, sleeps otherwise, and on SIGUSR2 (and at the end) writes what the rings hold to a file of its own.
extension Recorder {
    /// Pages of the side-band ring per CPU: process records are few.
    static let sideBandPages = 16

    /// A recording's open events: the sample groups with their overwrite rings, the side-band group, and what the
    /// snapshot files say about the events.
    struct FlightEvents {
        var groups: [EventGroup]
        var sideBand: EventGroup
        var described: [PerfDataWriter.Event]
        var encoder: RecordEncoder
    }

    func runFlightRecorder() throws -> RecordSummary {
        let signals = SignalGuard(snapshots: true, active: options.ownsSignals)
        defer { signals.restore() }
        let store = SideBand()
        let events: FlightEvents
        let workload: Workload?
        let waiter: EventWaiter
        do {
            try validate()
            let resolved = try resolveEvents()
            workload = try launchWorkload()
            do {
                events = try openFlightEvents(resolved, workload: workload)
                try synthesize(encoder: events.encoder) { bytes in bytes.withUnsafeBytes { store.apply($0) } }
                trigger = try openTrigger(workload: workload)
                slowCalls = try openSlowCallTrigger(workload: workload)
                waiter = try EventWaiter(rings: events.sideBand.rings + triggerGroups.flatMap(\.rings), snapshots: true,
                                         signals: options.ownsSignals, also: options.control.map { [$0.fd] } ?? [])
                if case .command = options.target {} else {
                    for g in events.groups + [events.sideBand] + triggerGroups { try g.enable() }
                }
            } catch {
                workload?.abandon()
                throw error
            }
        } catch {
            let failure = RecordError(wrapping: error)
            options.control?.finish(failure: failure)
            throw failure
        }
        defer { options.control?.finish() }
        for g in events.groups { summary.notes.append(contentsOf: g.notes) }
        options.control?.began()
        let start = monotonicSeconds()
        summary.commandPID = workload?.pid
        do {
            try workload?.start()
        } catch {
            summary.notes.append("\(error)")
        }
        let deadline = options.duration.map { start + $0 }
        var scratch: [UInt8] = []
        while true {
            // Nothing to do until a signal, the side-band ring's watermark, or the command's end (SIGCHLD): only
            // the end of -p processes (which nothing signals) and --duration need a timeout.
            var timeout = -1
            if case .processes = options.target { timeout = 1000 }
            if let deadline {
                let left = max(0, Int((deadline - monotonicSeconds()) * 1000))
                timeout = timeout < 0 ? left : min(timeout, left)
            }
            waiter.wait(timeoutMS: timeout)
            drainSideBand(events.sideBand, into: store)
            var asked = false
            let reason = stopReason(waiter: waiter, workload: workload, deadline: deadline) { asked = true }
            if let trigger, trigger.fired(minimumInterval: options.snapshotMinInterval) { asked = true }
            if let call = slowCalls?.slowCall(minimumInterval: options.snapshotMinInterval) {
                writeSnapshot(events, store: store, scratch: &scratch, reason: "after a \(call.milliseconds) ms call of \(slowCalls?.symbol ?? "") in thread \(call.tid)")
                asked = false
            }
            if asked { writeSnapshot(events, store: store, scratch: &scratch) }
            if let control = options.control {
                let (requests, stop) = control.take()
                for request in requests {
                    request.done(Result { try writeSnapshot(events, store: store, scratch: &scratch, to: request.path).snapshot }
                        .mapError { RecordError(wrapping: $0) })
                }
                if stop { break }
            }
            if let reason {
                if let reason { summary.notes.append(reason) }
                break
            }
        }
        for g in events.groups + [events.sideBand] + triggerGroups { g.disable() }
        if let note = trigger?.limit.note("hit", "hits", of: "the snapshot event") { summary.notes.append(note) }
        if let slowCalls, let note = slowCalls.limit.note("slow call", "slow calls", of: slowCalls.symbol) { summary.notes.append(note) }
        drainSideBand(events.sideBand, into: store)
        if options.finalSnapshot { writeSnapshot(events, store: store, scratch: &scratch) }
        summary.seconds = monotonicSeconds() - start
        if let workload {
            workload.terminate()
            summary.exitStatus = workload.waitForExit()
        }
        return summary
    }

    /// Opens the sample events writing backward into overwrite rings, and a dummy event on the same targets for
    /// the process records, into normal rings.
    private func openFlightEvents(_ resolved: [ResolvedEvent], workload: Workload?) throws -> FlightEvents {
        let (groups, described) = try openSampleGroups(resolved, workload: workload)
        let dummy = ResolvedEvent(name: "dummy", attr: EventAttr(type: .software, config: Recorder.dummyConfig))
        let sideBand = try openEvents([dummy], workload: workload, role: .sideBand)[0]
        try sideBand.mapRings(pages: Recorder.sideBandPages)
        return FlightEvents(groups: groups, sideBand: sideBand, described: described,
                            encoder: RecordEncoder(attr: groups[0].attr, id: described[0].ids.first ?? 0))
    }

    /// PERF_COUNT_SW_DUMMY: an event that counts nothing, opened for its side-band records.
    static let dummyConfig: UInt64 = 9

    /// Applies what the side-band rings hold now in time order: a process's records can sit in several rings (its
    /// fork on one CPU, its exec on another), and a fork applied after the exec would give the child its parent's
    /// name and mappings back. (A record that reaches its ring after that ring was drained still waits for the
    /// next drain; the wake-ups of a starting process come far apart enough that this has not been seen.)
    private func drainSideBand(_ group: EventGroup, into store: SideBand) {
        let timeFromEnd = SampleLayout(attr: group.attr).trailerTimeFromEnd ?? 0
        var pending: [(time: UInt64, order: Int, bytes: [UInt8])] = []
        for ring in group.rings {
            ring.drain { record in
                let time = timeFromEnd > 0 && record.count >= timeFromEnd ? record.loadUnaligned(fromByteOffset: record.count - timeFromEnd, as: UInt64.self) : 0
                pending.append((time, pending.count, Array(record)))
            }
        }
        pending.sort { ($0.time, $0.order) < ($1.time, $1.order) }
        for entry in pending {
            entry.bytes.withUnsafeBytes { record in
                store.apply(record)
                let type = RecordType(rawValue: record.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
                if type == .mmap2, let m = MmapRecord(record: record, type: type), m.isExecutable, m.filename.hasPrefix("/") {
                    executables.insert(m.filename)
                }
            }
        }
    }

    /// The events that ask for snapshots (`--switch-output-event`, `--snapshot-on-latency`).
    var triggerGroups: [EventGroup] { (trigger.map { [$0.group] } ?? []) + (slowCalls?.groups ?? []) }

    /// Writes what the overwrite rings hold to `OUTPUT.<timestamp>`, and prints one line for it. A failed write (a
    /// full disk) removes that file, says so once, and recording goes on.
    private func writeSnapshot(_ events: FlightEvents, store: SideBand, scratch: inout [UInt8], reason: String? = nil) {
        let path = Recorder.snapshotPath(options.output, after: summary.snapshots.last)
        do {
            let written = try writeSnapshot(events, store: store, scratch: &scratch, to: path)
            let seconds = written.seconds
            fputs("ember record: snapshot \(path): \(written.snapshot.samples) samples, \(formatSeconds(seconds)) s of history\(reason.map { ", " + $0 } ?? "")\n", stderr)
            if let asked = options.history, written.wrapped, seconds < asked * 0.95, !warnedShortHistory {
                warnedShortHistory = true
                fputs("ember: warning: snapshot \(path) held \(formatSeconds(seconds)) s of history, less than the \(formatSeconds(asked)) s --history asked: events came faster than the rings were sized for; a larger -m keeps more\n", stderr)
            }
            summary.snapshots.append(path)
            summary.samples += written.snapshot.samples
            if let keep = options.switchMaxFiles { Recorder.deleteOldest(&summary.snapshots, keeping: keep) }
        } catch {
            // The recording goes on; the command's exit status will say that a snapshot was lost.
            summary.writeFailed = true
            fputs("ember: warning: snapshot \(path) was not written (\(error)); recording goes on\n", stderr)
        }
    }

    /// Writes what the overwrite rings hold to `path`, with the processes it has samples of; removes the file when
    /// writing fails. Also says how many seconds of history it holds (from the newest ring's oldest sample when a
    /// ring had wrapped, since that is where every CPU has samples) and whether a ring had wrapped.
    private func writeSnapshot(_ events: FlightEvents, store: SideBand, scratch: inout [UInt8], to path: String) throws
        -> (snapshot: FlightControl.Snapshot, seconds: Double, wrapped: Bool) {
        var histories: [[UInt8]] = []
        var newest: UInt64 = 0, oldest: UInt64 = 0, oldestWrapped: UInt64 = 0
        var sampled = Set<Int32>()
        for ring in events.groups[0].rings {
            let copy = ring.snapshot(into: &scratch)
            guard copy.records > 0 else { continue }
            var first: UInt64?
            Recorder.forEachRecord(in: scratch) { record in
                guard let s = Recorder.sampleHeader(record) else { return }
                sampled.insert(s.pid)
                if first == nil { first = s.time }
                newest = max(newest, s.time)
            }
            if let first {
                oldest = oldest == 0 ? first : min(oldest, first)
                if copy.wrapped { oldestWrapped = max(oldestWrapped, first) }
            }
            histories.append(scratch)
        }
        let writer = try PerfDataWriter(path: path)
        do {
            try writer.begin(events: events.described, features: startFeatures())
            if let text = ProcScanner.kernelText() {
                try writer.append(events.encoder.kernelMmap(start: text.start, length: text.length))
            }
            for record in store.records(sampled: sampled, encoder: events.encoder) { try writer.append(record) }
            try writer.appendFinishedRound()
            for history in histories { try Recorder.forEachRecord(in: history) { try writer.append($0) } }
            try writer.appendFinishedRound()
            try writer.finish(features: [(.eventDesc, writer.eventDescription()), (.buildID, FeatureEncoding.buildIDs(buildIDs()))])
        } catch {
            writer.abandon()
            unlink(path)
            throw error
        }
        let seconds = newest > 0 ? Double(newest &- (oldestWrapped > 0 ? oldestWrapped : oldest)) / 1e9 : 0
        return (FlightControl.Snapshot(path: path, samples: writer.writtenSamples, newestTime: newest), seconds, oldestWrapped > 0)
    }

    /// The identifier, pid, tid and time of a sample as Ember's events lay it out (identifier, ip, pid/tid, time
    /// first); nil for any other record.
    static func sampleHeader(_ record: UnsafeRawBufferPointer) -> (id: UInt64, pid: Int32, tid: Int32, time: UInt64)? {
        guard record.count >= 40, record.loadUnaligned(fromByteOffset: 0, as: UInt32.self) == RecordType.sample.rawValue else { return nil }
        return (record.loadUnaligned(fromByteOffset: 8, as: UInt64.self), record.loadUnaligned(fromByteOffset: 24, as: Int32.self),
                record.loadUnaligned(fromByteOffset: 28, as: Int32.self), record.loadUnaligned(fromByteOffset: 32, as: UInt64.self))
    }

    /// Each record of a ring's copied history, whole.
    static func forEachRecord(in records: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        try records.withUnsafeBytes { bytes in
            var offset = 0
            while offset + 8 <= bytes.count {
                let size = Int(bytes.loadUnaligned(fromByteOffset: offset + 6, as: UInt16.self))
                guard size >= 8, offset + size <= bytes.count else { return }
                try body(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + size)]))
                offset += size
            }
        }
    }

    /// `OUTPUT.<YYYYMMDDHHMMSSCC>` in local time, as perf names its switch-output files; never the name of the
    /// previous snapshot (two within one hundredth of a second).
    static func snapshotPath(_ output: String, after previous: String?) -> String {
        while true {
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            var t = tm()
            var seconds = now.tv_sec
            localtime_r(&seconds, &t)
            let stamp = "\(t.tm_year + 1900)" + [t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, Int32(now.tv_nsec / 10_000_000)]
                .map { Recorder.twoDigits(Int($0)) }.joined()
            let path = "\(output).\(stamp)"
            if path != previous { return path }
            usleep(5000)
        }
    }

    private static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}

/// A number with two decimals (`0.31`): seconds, and megabytes.
public func formatSeconds(_ s: Double) -> String {
    let hundredths = Int((s * 100).rounded())
    let frac = hundredths % 100
    return "\(hundredths / 100).\(frac < 10 ? "0" : "")\(frac)"
}
