@testable import EmberPerfData
import XCTest

/// perf's ordered-events rule: a round hands on only what the previous round made final.
final class RoundQueueTests: XCTestCase {
    func testRecordsOlderThanThePreviousRoundWaitForTheirTurn() {
        var q = RoundQueue()
        var out: [UInt64] = []
        let emit = { (e: RoundQueue.Entry) in out.append(e.time) }
        // Round 1: CPU 0 drained up to time 30.
        for t: UInt64 in [10, 30, 20] { q.add(time: t, offset: Int(t), emit) }
        q.finishRound(emit)
        XCTAssertEqual(out, [], "nothing is final after the first round")
        // Round 2: CPU 1's older records (15, 25) arrive late, with newer ones.
        for t: UInt64 in [15, 25, 40] { q.add(time: t, offset: Int(t), emit) }
        q.finishRound(emit)
        XCTAssertEqual(out, [10, 15, 20, 25, 30], "up to the first round's highest time, in order")
        q.drain(emit)
        XCTAssertEqual(out, [10, 15, 20, 25, 30, 40])
        XCTAssertEqual(q.settled(below: 1000), 1000)
    }
}
