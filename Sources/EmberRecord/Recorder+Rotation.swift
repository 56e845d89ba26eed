import EmberKernel
import EmberPerfData
#if canImport(Glibc)
import Glibc
#endif

/// `--switch-output` without `--overwrite`: the recording goes to `OUTPUT.<timestamp>` files, the current one
/// closed and the next started at each boundary (a size, a time, or SIGUSR2) between two drains of the rings, so
/// that no sample is lost in between. Each file is complete on its own: it starts with the processes alive at the
/// switch, from the side-band records seen so far.
final class Rotation {
    let events: [PerfDataWriter.Event]
    let encoder: RecordEncoder
    let store: SideBand
    /// The files written, oldest first (with `--switch-max-files`, the kept ones), the current one last.
    var files: [String]
    /// When the current file was started (monotonic seconds).
    var started = monotonicSeconds()
    /// SIGUSR2 asked for a switch.
    var signalled = false
    /// Writing the current file failed (a full disk): its samples are dropped until the next file starts.
    var failed = false
    /// Totals of the finished files.
    var finished: (samples: UInt64, dropped: UInt64, bytes: UInt64) = (0, 0, 0)

    init(path: String, events: [PerfDataWriter.Event], encoder: RecordEncoder, store: SideBand) {
        files = [path]
        self.events = events
        self.encoder = encoder
        self.store = store
    }
}

extension Recorder {
    /// Whether the current file has reached its boundary, or SIGUSR2 or the snapshot event asked for the next. A
    /// file that failed (a full disk) tries for the next each second by size.
    func isDue(_ writer: PerfDataWriter, _ rotation: Rotation) -> Bool {
        if rotation.signalled { return true }
        switch options.switchOutput {
        case .signal: return false
        case .size(let bytes): return writer.dataBytes >= bytes || (rotation.failed && monotonicSeconds() - rotation.started >= 1)
        case .time(let seconds): return monotonicSeconds() - rotation.started >= seconds
        case nil: return false
        }
    }

    /// Starts the next file, then finishes the current one; nil when the next cannot be started (a full disk): the
    /// current file then goes on (or goes on dropping, when it failed too) until the next boundary tries again.
    /// With `--switch-max-files` the oldest files are deleted first, to make room.
    func rotate(_ writer: PerfDataWriter, _ rotation: Rotation) -> PerfDataWriter? {
        rotation.signalled = false
        rotation.started = monotonicSeconds()
        if let keep = options.switchMaxFiles { Recorder.deleteOldest(&rotation.files, keeping: max(keep - 1, 1)) }
        let path = Recorder.snapshotPath(options.output, after: rotation.files.last)
        let next: PerfDataWriter
        do {
            next = try PerfDataWriter(path: path)
            do {
                try next.begin(events: rotation.events, features: startFeatures())
                if let text = ProcScanner.kernelText() {
                    try next.append(rotation.encoder.kernelMmap(start: text.start, length: text.length))
                }
                for record in rotation.store.records(sampled: [], encoder: rotation.encoder) { try next.append(record) }
                try next.appendFinishedRound()
                try next.flush()
            } catch {
                next.abandon()
                throw error
            }
        } catch {
            summary.writeFailed = true
            fputs("ember: warning: the next file could not be started (\(error)); trying again at the next switch\n", stderr)
            return nil
        }
        finish(writer: writer)
        rotation.finished = (summary.samples, summary.dropped, summary.bytes)
        rotation.failed = false
        rotation.files.append(path)
        if let keep = options.switchMaxFiles { Recorder.deleteOldest(&rotation.files, keeping: keep) }
        return next
    }

    /// `--switch-max-files`: deletes the oldest of `files` (oldest first) until `keep` are left.
    static func deleteOldest(_ files: inout [String], keeping keep: Int) {
        while files.count > keep { unlink(files.removeFirst()) }
    }
}

/// `--switch-output-event`: the events whose hits ask for a snapshot (or the next file), in small rings of their
/// own that wake the recorder at every hit.
final class SnapshotTrigger {
    let group: EventGroup
    private(set) var limit = SnapshotRateLimit()

    init(group: EventGroup) {
        self.group = group
    }

    /// Reads the hits since the last call: true when there was one and the last snapshot it asked for is at least
    /// `minimumInterval` seconds old, so that a storm of hits cannot fill the disk.
    func fired(minimumInterval: Double) -> Bool {
        var hits = 0
        for ring in group.rings {
            ring.drain { record in
                if record.loadUnaligned(fromByteOffset: 0, as: UInt32.self) == RecordType.sample.rawValue { hits += 1 }
            }
        }
        return limit.admits(hits, minimumInterval: minimumInterval)
    }
}

/// `--snapshot-min-interval`: at most one snapshot per interval from a trigger, so that a storm of hits cannot fill
/// the disk; the hits that came too soon are counted.
struct SnapshotRateLimit {
    /// When the last snapshot it let through was asked for (monotonic seconds).
    private var last = -Double.infinity
    private(set) var skipped = 0

    /// Whether `hits` (none, one or more at once) write a snapshot now; all but that one count as skipped.
    mutating func admits(_ hits: Int, minimumInterval: Double) -> Bool {
        guard hits > 0 else { return false }
        let now = monotonicSeconds()
        guard now - last >= minimumInterval else {
            skipped += hits
            return false
        }
        last = now
        skipped += hits - 1
        return true
    }

    /// The note at the end: how many `what` (singular, plural) came too soon, or nil.
    func note(_ one: String, _ many: String, of trigger: String) -> String? {
        guard skipped > 0 else { return nil }
        return "\(skipped == 1 ? "1 " + one : "\(skipped) " + many) of \(trigger) came within --snapshot-min-interval of a snapshot and wrote none"
    }
}

extension Recorder {
    /// Opens `--switch-output-event`'s events on the recording's targets, or nil without one.
    func openTrigger(workload: Workload?) throws -> SnapshotTrigger? {
        guard let request = options.snapshotEvent else { return nil }
        let groups = try openEvents(try EventResolver.resolve(request, filter: nil, pids: options.targetPIDs), workload: workload, role: .trigger)
        try groups[0].mapRings(pages: Recorder.sideBandPages)
        for g in groups.dropFirst() { try g.redirect(to: groups[0].rings) }
        return SnapshotTrigger(group: groups[0])
    }
}
