@testable import EmberLatency
import XCTest

/// The latency heat map as a reader needs it: an axis that ends with the recording, round ticks, a colour scale
/// with counts, a font Linux has, and counts in words that agree with them.
final class HeatmapTests: XCTestCase {
    func testAxisScaleFontAndWords() {
        var map = LatencyHeatmap(kind: .offcpu)
        // A wait of 1 ms ending every 10 ms for 2.04 s, and one of 100 ms alone in its row.
        for i in 0..<204 { map.add(time: 5_000_000_000 + UInt64(i) * 10_000_000, ns: 1_000_000) }
        map.add(time: 6_000_000_000, ns: 100_000_000)
        let svg = map.svg(title: "test", command: "ember latency -i x.data")
        // Ticks sit on the axis line's y (height 480 - bottom 40 + 14).
        let ticks = svg.components(separatedBy: "y=\"454\" text-anchor=\"middle\">").dropFirst().compactMap { Double($0.prefix { $0 != "<" }) }
        XCTAssertEqual(ticks.first, 0)
        XCTAssertEqual(ticks.last ?? 0, 2.0, accuracy: 0.001, "the axis ends with the last wait (2.03 s), not at 3.6 s: \(ticks)")
        XCTAssertTrue(ticks.allSatisfy { ($0 * 10).rounded() == $0 * 10 }, "round ticks: \(ticks)")
        XCTAssertTrue(svg.contains("font-family=\"Verdana, DejaVu Sans, Liberation Sans, Arial, sans-serif\""))
        XCTAssertTrue(svg.contains(">waits in a cell: 1 2</text>"), "the colour scale names its counts")
        XCTAssertTrue(svg.contains(": 1 wait</title>") && svg.contains(": 2 waits</title>"))
        XCTAssertFalse(svg.contains(" 1 waits"))
    }
}
