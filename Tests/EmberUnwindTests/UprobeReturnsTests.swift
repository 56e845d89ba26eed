import EmberUnwind
import XCTest

/// The address each uretprobe trampoline on a sampled stack stands for: the k-th return of its thread after the
/// sample, innermost first.
final class UprobeReturnsTests: XCTestCase {
    func testTrampolinesTakeTheirThreadsNextReturnsInOrder() {
        // Thread 7: outer() called at 100, inner() at 200; inner returns to 0xA at 300, outer to 0xB at 400, and a
        // later call returns to 0xC at 900. Thread 8 returns to 0xD at 350.
        let returns = UprobeReturns([(7, 400, 0xB), (8, 350, 0xD), (7, 300, 0xA), (7, 900, 0xC)])
        // A sample at 250, inside both: the innermost trampoline is inner's, the next outer's.
        XCTAssertEqual(returns.address(tid: 7, time: 250, index: 0), 0xA)
        XCTAssertEqual(returns.address(tid: 7, time: 250, index: 1), 0xB)
        // At 350 inner has returned: the one trampoline left is outer's.
        XCTAssertEqual(returns.address(tid: 7, time: 350, index: 0), 0xB)
        // A return at the very time of the sample has happened already.
        XCTAssertEqual(returns.address(tid: 7, time: 400, index: 0), 0xC)
        XCTAssertEqual(returns.address(tid: 8, time: 250, index: 0), 0xD)
        XCTAssertNil(returns.address(tid: 7, time: 950, index: 0), "no return after the recording's last")
        XCTAssertNil(returns.address(tid: 9, time: 0, index: 0))
    }
}
