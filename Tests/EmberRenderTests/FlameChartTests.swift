import EmberReplay
import XCTest
@testable import EmberRender
import EmberStacks

/// Flame charts keep stacks in time order; the kind palette's legend.
final class FlameChartTests: XCTestCase {
    func testStacksStayInOrderAndMergeOnlyWithNeighbours() {
        let stacks = TimeOrderedStacks(stacks: [("main;b", 2), ("main;b;x", 1), ("main;a", 3), ("main;b", 4)])
        let doc = SVGDocument(FlameGraph.render(chart: stacks, options: FlameGraphOptions()))
        XCTAssertTrue(doc.isWellFormed, "\(doc.errors)")
        XCTAssertEqual(doc.frames(named: "main").map(\.dataW), [10], "one main over every sample")
        XCTAssertEqual(doc.frames(named: "b").map { [$0.dataX, $0.dataW] }, [[0, 3], [6, 4]], "b twice: before and after a")
        XCTAssertEqual(doc.frames(named: "a").map { [$0.dataX, $0.dataW] }, [[3, 3]])
        XCTAssertEqual(doc.frames(named: "x").map { [$0.dataX, $0.dataW] }, [[2, 1]], "x on the first b, at its end")
    }

    func testKindPaletteHasALegend() {
        var profile = FoldedProfile()
        profile.add(stack: "app;lib;kernel_[k]", weight: 5)
        var options = FlameGraphOptions()
        options.palette = .kind
        let doc = SVGDocument(FlameGraph.render(profile, options: options))
        XCTAssertTrue(doc.isWellFormed, "\(doc.errors)")
        let svg = FlameGraph.render(profile, options: options)
        XCTAssertTrue(svg.contains("fill=\"\(FlameGraphPalette.legendFill(.kernel))\"/><text x=\"") && svg.contains(">kernel</text>"))
        XCTAssertGreaterThan(doc.height, SVGDocument(FlameGraph.render(profile, options: FlameGraphOptions())).height, "a row for it")
        XCTAssertFalse(FlameGraph.render(profile, options: FlameGraphOptions()).contains("legend"))
    }
}
