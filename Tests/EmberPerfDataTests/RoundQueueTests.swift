import EmberKernel
@testable import EmberPerfData
import XCTest

/// perf's ordered-events rule: a round hands on only what the previous round made final.
final class RoundQueueTests: XCTestCase {
    func testRecordsOlderThanThePreviousRoundWaitForTheirTurn() {
        var q = RoundQueue()
        var out: [UInt64] = []
        let emit = { (e: RoundQueue.Entry) in out.append(e.time) }
        // Round 1: CPU 0 drained up to time 30.
        for t: UInt64 in [10, 30, 20] { q.add(time: t, offset: Int(t), event: 0, emit) }
        q.finishRound(emit)
        XCTAssertEqual(out, [], "nothing is final after the first round")
        // Round 2: CPU 1's older records (15, 25) arrive late, with newer ones.
        for t: UInt64 in [15, 25, 40] { q.add(time: t, offset: Int(t), event: 0, emit) }
        q.finishRound(emit)
        XCTAssertEqual(out, [10, 15, 20, 25, 30], "up to the first round's highest time, in order")
        q.drain(emit)
        XCTAssertEqual(out, [10, 15, 20, 25, 30, 40])
        XCTAssertEqual(q.settled(below: 1000), 1000)
    }

    /// Records find their event by sample id: through a table when the ids lie close together, by binary search
    /// when they are spread out; an id no event has is nil.
    func testEventIDsResolveCloseTogetherAndSpreadOut() {
        func event(_ ids: [UInt64]) -> EventDescription { EventDescription(attr: EventAttr(type: .software), ids: ids, name: "e") }
        for ids in [[[7, 9], [8, 12]], [[5, 1 << 40], [3, 1 << 20]]] as [[[UInt64]]] {
            let table = EventIDTable(ids.map(event))
            for (i, list) in ids.enumerated() { for id in list { XCTAssertEqual(table.event(id), i, "id \(id)") } }
            for missing: UInt64 in [0, 4, 10, 13, 1 << 41] { XCTAssertNil(table.event(missing), "id \(missing)") }
        }
        XCTAssertNil(EventIDTable([]).event(1))
    }
}
