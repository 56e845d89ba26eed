import EmberKernel
import EmberPerfData

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
