import EmberKernel
import XCTest

/// The overwrite ring's history walk, over byte-literal rings laid out as the kernel writes backward: each record
/// below the one before it, `data_head` counting down from 0.
final class RingBufferTests: XCTestCase {
    /// A 64-byte ring with records of `sizes`, written in order (the first is the oldest); returns the ring and head.
    private func ring(_ sizes: [Int]) -> (bytes: [UInt8], head: UInt64) {
        var bytes = [UInt8](repeating: 0, count: 64)
        var head: UInt64 = 0
        for (n, size) in sizes.enumerated() {
            head &-= UInt64(size)
            for i in 0..<size {
                let offset = Int((head &+ UInt64(i)) & 63)
                // Header: type 9 (sample), misc 0, size; the body is the record's number.
                switch i {
                case 0: bytes[offset] = 9
                case 6: bytes[offset] = UInt8(size)
                case 1...7: bytes[offset] = 0
                default: bytes[offset] = UInt8(n + 1)
                }
            }
        }
        return (bytes, head)
    }

    private func history(_ sizes: [Int]) -> (records: [(offset: Int, size: Int)], joined: [UInt8], wrapped: Bool) {
        let (bytes, head) = ring(sizes)
        return bytes.withUnsafeBytes { raw in
            var out: [UInt8] = []
            let records = RingBuffer.backwardRecords(raw, head: head)
            let history = RingBuffer.history(raw, head: head, into: &out)
            XCTAssertEqual(history.records, records.count)
            return (records, out, history.wrapped)
        }
    }

    /// Not wrapped yet: every record, newest first, up to the never-written zeros.
    func testRingThatHasNotWrapped() {
        let (records, joined, wrapped) = history([16, 8])
        XCTAssertFalse(wrapped)
        XCTAssertEqual(records.map(\.offset), [40, 48])
        XCTAssertEqual(records.map(\.size), [8, 16])
        // Oldest first: record 1's 16 bytes, then record 2's 8 (a header only).
        XCTAssertEqual(joined.count, 24)
        XCTAssertEqual(Array(joined[8..<16]), [UInt8](repeating: 1, count: 8))
        XCTAssertEqual(joined[16], 9)
    }

    /// Wrapped: the newest four of five 16-byte records fill the ring exactly; the first was overwritten.
    func testWrappedRingKeepsTheNewestRecords() {
        let (records, joined, wrapped) = history([16, 16, 16, 16, 16])
        XCTAssertTrue(wrapped)
        XCTAssertEqual(records.map(\.offset), [48, 0, 16, 32])
        XCTAssertEqual(joined.count, 64)
        XCTAssertEqual(stride(from: 8, to: 64, by: 16).map { joined[$0] }, [2, 3, 4, 5], "oldest first, record 1 gone")
    }

    /// A record cut at the ring's end comes out whole; the oldest record, partly overwritten, is left out.
    func testRecordSplitAtTheEnd() {
        let (records, joined, wrapped) = history([24, 32, 16])
        XCTAssertTrue(wrapped)
        XCTAssertEqual(records.map(\.offset), [8, 56].reversed())
        XCTAssertEqual(records.map(\.size), [16, 32])
        XCTAssertEqual(joined.count, 48)
        XCTAssertEqual(Array(joined[8..<32]), [UInt8](repeating: 2, count: 24))
        XCTAssertEqual(joined[32], 9)
        XCTAssertEqual(joined[38], 16)
        XCTAssertEqual(Array(joined[40..<48]), [UInt8](repeating: 3, count: 8), "the split record's body is joined")
    }

    /// An empty ring has no history.
    func testEmptyRing() {
        XCTAssertTrue(history([]).records.isEmpty)
    }
}
