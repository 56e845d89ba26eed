import XCTest
@testable import EmberLatency

/// The cells `runqueue.bpf.c` counts delays in, read back: exact below 64 ns, then 32 cells per power of two.
final class InKernelRunQueueTests: XCTestCase {
    func testCellValues() {
        XCTAssertEqual(InKernelRunQueue.value(ofSlot: 0), 0)
        XCTAssertEqual(InKernelRunQueue.value(ofSlot: 63), 63)
        // 64..65: the first cell of [64, 128), two wide.
        XCTAssertEqual(InKernelRunQueue.value(ofSlot: 64), 64)
        XCTAssertEqual(InKernelRunQueue.value(ofSlot: 64 + 31), 126)
        // [128, 256) in cells four wide: 128..131 stands as 129.
        XCTAssertEqual(InKernelRunQueue.value(ofSlot: 96), 129)
        // 1 ms: power 19, cells 2^14 ns wide; 1,000,000 >> 14 = 61 = 32 + 29, cell 29, [999,424, 1,015,807], centred
        // at 1,007,615.
        XCTAssertEqual(InKernelRunQueue.value(ofSlot: 64 + (19 - 6) * 32 + 29), 1_007_615)
        // The last cell the program can count (2^63 and up).
        XCTAssertEqual(InKernelRunQueue.value(ofSlot: 64 + 57 * 32 + 31), (63 << 58) + ((1 << 58) - 1) / 2)
    }

    /// Waits counted elsewhere keep their exact count, total and maximum; percentiles come from the cells.
    func testStatsFromCells() {
        let stats = LatencyStats(count: 101, totalNs: 5_000_000, maxNs: 2_000_000, cells: [(1000, 100), (2_000_000, 1)])
        XCTAssertEqual(stats.count, 101)
        XCTAssertEqual(stats.totalNs, 5_000_000)
        XCTAssertEqual(stats.maxNs, 2_000_000)
        XCTAssertEqual(Double(stats.percentile(50)), 1000, accuracy: 1)
        XCTAssertEqual(stats.percentile(100), 2_000_000)
        XCTAssertEqual(stats.log2Buckets.map(\.count).reduce(0, +), 101)
    }
}
