import EmberKernel
import EmberPerfData

/// `--snapshot-on-latency BINARY:SYMBOL>DURATION`: a uprobe and a uretprobe on the function, read in normal mode
/// from small rings of their own (the samples stay in the overwrite rings), paired per thread; a call slower than
/// the threshold asks for a snapshot, which then holds the samples of that call.
final class SlowCallTrigger {
    let symbol: String
    let groups: [EventGroup]
    private let entryIDs: Set<UInt64>
    private let threshold: UInt64
    /// Entry times of the calls in progress, by thread.
    private var entries: [Int32: UInt64] = [:]
    private(set) var limit = SnapshotRateLimit()

    init(symbol: String, entry: EventGroup, exit: EventGroup, threshold: UInt64) throws {
        self.symbol = symbol
        groups = [entry, exit]
        entryIDs = Set(try entry.ids())
        self.threshold = threshold
    }

    /// Reads the probes' hits since the last call: the slowest call over the threshold, when the last snapshot it
    /// asked for is at least `minimumInterval` seconds old.
    func slowCall(minimumInterval: Double) -> (tid: Int32, milliseconds: String)? {
        var slowest: (tid: Int32, ns: UInt64)?
        var slow = 0
        for ring in groups[0].rings {
            ring.drain { record in
                guard let s = FlightSink.sampleHeader(record) else { return }
                if entryIDs.contains(s.id) {
                    entries[s.tid] = s.time
                } else if let start = entries.removeValue(forKey: s.tid), s.time &- start > threshold {
                    slow += 1
                    if s.time &- start > slowest?.ns ?? 0 { slowest = (s.tid, s.time &- start) }
                }
            }
        }
        guard let slowest, limit.admits(slow, minimumInterval: minimumInterval) else { return nil }
        let tenths = (slowest.ns + 50_000) / 100_000
        return (slowest.tid, "\(tenths / 10).\(tenths % 10)")
    }
}
