@testable import EmberReplay
import XCTest

/// `--time` forms, resolved against a recording whose samples run from 100 s to 110 s.
final class TimeSliceTests: XCTestCase {
    private let first: UInt64 = 100_000_000_000, last: UInt64 = 110_000_000_000

    private func spans(_ text: String) throws -> [ClosedRange<UInt64>] {
        try TimeSlice.parse(text).spans(first: first, last: last)
    }

    func testSecondsAbsoluteOrFromTheStart() throws {
        XCTAssertEqual(try spans("101.5,102"), [101_500_000_000...102_000_000_000], "perf's absolute times")
        XCTAssertEqual(try spans("1.5,2"), [101_500_000_000...102_000_000_000], "below the first sample: from the start")
        XCTAssertEqual(try spans(",2"), [0...102_000_000_000])
        XCTAssertEqual(try spans("105,"), [105_000_000_000...UInt64.max])
        // START decides for both ends; a START just before the recording (a time cut short) is absolute.
        XCTAssertEqual(try spans("95,105"), [95_000_000_000...105_000_000_000])
        XCTAssertEqual(try spans("1,101"), [101_000_000_000...201_000_000_000])
    }

    func testPercentSlices() throws {
        // As perf: a slice ending before 100% stops 1 ns short of the next, so neighbours share no sample.
        XCTAssertEqual(try spans("10%/3"), [102_000_000_000...102_999_999_999])
        XCTAssertEqual(try spans("0%-25%"), [100_000_000_000...102_499_999_999])
        XCTAssertEqual(try spans("10%/1,10%/10"), [100_000_000_000...100_999_999_999, 109_000_000_000...110_000_000_000])
    }

    /// A corrupt span near 2^64: 100% of it rounds to 2^64 in Double, which no longer converts; it ends at the span.
    func testPercentsOfASpanNearTheLargest() throws {
        XCTAssertEqual(try TimeSlice.parse("50%-100%").spans(first: 1, last: .max), [(1 &+ (1 << 63))...UInt64.max])
    }

    func testMalformed() {
        for bad in ["", "5", "a,b", "3,2", "10%/11", "10%/0", "20%-10%", "0%-101%", "10%", "-1,2", "1,2,3"] {
            XCTAssertThrowsError(try TimeSlice.parse(bad), bad)
        }
    }
}
