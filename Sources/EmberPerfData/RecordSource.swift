/// Where a replay's records come from: a recording on disk (`PerfDataFile`), or one in progress (`LiveRecords`).
public protocol RecordSource: AnyObject {
    /// The events whose records these are; `RecordRef.eventIndex` indexes it.
    var events: [EventDescription] { get }
    /// Problems found that did not stop reading, each said once.
    var warnings: [String] { get }
    /// Hands on the records in time order: a file's all of them, a live recording's those that arrived since the
    /// last call and are final.
    func forEachRecord(_ body: (RecordRef) throws -> Void) rethrows
}

extension PerfDataFile: RecordSource {}

/// The records of a recording in progress, held in memory between two readings (`ember top`): the recorder appends
/// what it drained from the rings and ends a round; a reader takes the records the round made final, in time order
/// by perf's round rule (`RoundQueue`), as a file's records are read. What was read is let go.
public final class LiveRecords: RecordSource {
    public let events: [EventDescription]
    /// Records in memory, framed as the ring handed them out: nothing to warn of.
    public let warnings: [String] = []
    private let layouts: [SampleLayout]
    private let eventIDs: EventIDTable
    private var bytes: [UInt8] = []
    private var queue = RoundQueue()
    private var ready: [RoundQueue.Entry] = []
    private var lastTime: UInt64 = 0

    public init(events: [EventDescription]) {
        self.events = events
        layouts = events.map(\.layout)
        eventIDs = EventIDTable(events)
    }

    /// Keeps one record (a whole one, as a ring hands it out).
    public func append(_ record: UnsafeRawBufferPointer) {
        guard record.count >= 8 else { return }
        let type = RecordType(rawValue: record.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        var event = 0
        if layouts.count > 1, let id = layouts[0].id(of: record, type: type) { event = eventIDs.event(id) ?? 0 }
        if let t = layouts[event].time(of: record, type: type) { lastTime = t }
        let offset = bytes.count
        bytes.append(contentsOf: record)
        queue.add(time: lastTime, offset: offset, event: event) { ready.append($0) }
    }

    /// Every ring has been drained once since the last round: what is older than the previous round's newest
    /// record is final.
    public func endRound() {
        queue.finishRound { ready.append($0) }
    }

    /// The recording has ended: every record is final.
    public func finish() {
        queue.drain { ready.append($0) }
    }

    public func forEachRecord(_ body: (RecordRef) throws -> Void) rethrows {
        defer { release() }
        try bytes.withUnsafeBytes { all in
            for entry in ready {
                let size = Int(all.loadUnaligned(fromByteOffset: entry.offset + 6, as: UInt16.self))
                let record = UnsafeRawBufferPointer(rebasing: all[entry.offset..<(entry.offset + size)])
                try body(RecordRef(type: RecordType(rawValue: record.loadUnaligned(fromByteOffset: 0, as: UInt32.self)),
                                   misc: record.loadUnaligned(fromByteOffset: 4, as: UInt16.self), bytes: record,
                                   eventIndex: entry.event, time: entry.time))
            }
        }
    }

    /// Lets go of the records handed on; those still waiting for a later round move to the front.
    private func release() {
        ready.removeAll(keepingCapacity: true)
        let keep = queue.settled(below: bytes.count)
        guard keep > 0 else { return }
        bytes.removeSubrange(..<keep)
        queue.rebase(by: keep)
    }
}
