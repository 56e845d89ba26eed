/// perf's ordered-events rule for FINISHED_ROUND: records are drained per CPU buffer, so a round can still hold
/// records older than the end of the previous round from another CPU. At each round's end only the records up to
/// the *previous* round's highest time are handed on, in time order; the rest wait for the next round.
struct RoundQueue {
    /// A record's time, file offset and event index (found once, when the record is queued).
    typealias Entry = (time: UInt64, offset: Int, event: Int)

    private var pending: [Entry] = []
    /// The highest time seen when the previous round ended: everything at or below it is final.
    private var limit: UInt64 = 0
    private var highest: UInt64 = 0
    /// Set when the queue grew past its cap and was drained early.
    private(set) var overflowed = false
    private static let cap = 1 << 22

    init() { pending.reserveCapacity(4096) }

    mutating func add(time: UInt64, offset: Int, event: Int, _ emit: (Entry) throws -> Void) rethrows {
        pending.append((time, offset, event))
        if time > highest { highest = time }
        if pending.count >= RoundQueue.cap {
            overflowed = true
            try drain(emit)
        }
    }

    /// Hands on what the round made final.
    mutating func finishRound(_ emit: (Entry) throws -> Void) rethrows {
        sort()
        let cut = pending.firstIndex { $0.time > limit } ?? pending.count
        for entry in pending[..<cut] { try emit(entry) }
        pending.removeSubrange(..<cut)
        limit = highest
    }

    /// Hands on everything (the end of the file).
    mutating func drain(_ emit: (Entry) throws -> Void) rethrows {
        sort()
        for entry in pending { try emit(entry) }
        pending.removeAll(keepingCapacity: true)
        limit = highest
    }

    /// The file offset below which every record has been handed on.
    func settled(below offset: Int) -> Int {
        pending.reduce(offset) { min($0, $1.offset) }
    }

    /// The bytes below `offset` were let go: every waiting record now stands that much nearer the start.
    mutating func rebase(by offset: Int) {
        for i in pending.indices { pending[i].offset -= offset }
    }

    private mutating func sort() {
        pending.sort { $0.time != $1.time ? $0.time < $1.time : $0.offset < $1.offset }
    }
}
