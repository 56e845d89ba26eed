import EmberReplay
import XCTest
@testable import EmberRender
import EmberStacks

/// Flame charts lay each thread's samples out in time; the kind palette's legend.
final class FlameChartTests: XCTestCase {
    /// Two threads, each in its lane: a frame spans the neighbouring samples that share it and its callers, a
    /// pause longer than a sample ends every frame (an idle gap), and x is nanoseconds from the first sample's start.
    func testLanesTimesAndGaps() {
        let ms: UInt64 = 1_000_000
        let stacks = ["t;main;a", "t;main;b", "u;x"]
        let samples: [TimedStacks.Sample] = [
            .init(time: 101 * ms, stack: 0, thread: 0, weight: ms), .init(time: 102 * ms, stack: 0, thread: 0, weight: ms),
            .init(time: 102 * ms, stack: 2, thread: 1, weight: ms), .init(time: 103 * ms, stack: 0, thread: 0, weight: ms),
            .init(time: 104 * ms, stack: 1, thread: 0, weight: ms),
            .init(time: 110 * ms, stack: 1, thread: 0, weight: ms), .init(time: 111 * ms, stack: 1, thread: 0, weight: ms),
        ]
        let timed = TimedStacks(stacks: stacks, samples: samples,
                                threads: [.init(pid: 7, tid: 7, name: "t"), .init(pid: 7, tid: 8, name: "u")])
        let svg = FlameChart.render(timed, clock: true, options: FlameGraphOptions())
        let doc = SVGDocument(svg)
        XCTAssertTrue(doc.isWellFormed, "\(doc.errors)")
        func spans(_ name: String) -> [[UInt64]] { doc.frames(named: name).map { [$0.dataX / ms, $0.dataW / ms, UInt64($0.lane)] } }
        XCTAssertEqual(spans("main"), [[0, 4, 0], [9, 2, 0]], "main until the pause, then again after it")
        XCTAssertEqual(spans("a"), [[0, 3, 0]])
        XCTAssertEqual(spans("b"), [[3, 1, 0], [9, 2, 0]])
        XCTAssertEqual(spans("x"), [[1, 1, 1]], "the second thread in its own lane")
        XCTAssertEqual(doc.frames(named: "a").first?.title, "a (3 samples, 3 ms, from 0.000000 s to 0.003000 s; t 7/7)")
        XCTAssertTrue(svg.contains(">t 7/7: 6 samples</text>") && svg.contains(">u 7/8: 1 sample</text>"), "lane headings, busiest first")
        XCTAssertTrue(svg.contains("0 s is 0.100000 s on perf&#39;s clock"))
        // Ticks at round times: 0, 0.002, ... 0.010 s over 11 ms.
        XCTAssertTrue(svg.contains(">0.000 s</text>") && svg.contains(">0.010</text>"), svg)

        // Without clock weights a sample stands for the usual gap between a thread's samples (1 ms here).
        let counted = SVGDocument(FlameChart.render(timed, clock: false, options: FlameGraphOptions()))
        XCTAssertEqual(counted.frames(named: "main").map { [$0.dataX / ms, $0.dataW / ms] }, [[0, 4], [9, 2]])
    }

    /// A DWARF stack the unwinder could not take to the thread's entry (`t;[truncated];...`) is drawn under the
    /// callers its neighbours give it, so `main` stays one frame: where its outermost frame is in a neighbour, under
    /// that frame's callers; where it is in neither, its `[truncated]` frame under the callers both share.
    func testShortStacksAreGraftedUnderTheirNeighbours() {
        let ms: UInt64 = 1_000_000
        let stacks = ["t;_start;main;run;work;leaf", "t;[truncated];work;other", "t;[truncated];deep;deeper", "t;_start;main;run;idle"]
        let samples = [0, 1, 2, 3].map { TimedStacks.Sample(time: UInt64($0 + 1) * ms, stack: Int32($0), weight: ms) }
        let doc = SVGDocument(FlameChart.render(TimedStacks(stacks: stacks, samples: samples, threads: [.init(pid: 1, tid: 1, name: "t")]),
                                                clock: true, options: FlameGraphOptions()))
        XCTAssertEqual(doc.frames(named: "main").map { [$0.dataX / ms, $0.dataW / ms] }, [[0, 4]], "one main over all four samples")
        XCTAssertEqual(doc.frames(named: "work").map { [$0.dataX / ms, $0.dataW / ms] }, [[0, 2]], "work under run, as before it")
        let lost = doc.frames(named: "[truncated]")
        XCTAssertEqual(lost.map { [$0.dataX / ms, $0.dataW / ms] }, [[2, 1]])
        XCTAssertEqual(lost.first?.y, doc.frames(named: "work").first?.y, "under _start;main;run, the callers both neighbours share")
    }

    /// Times and weights a corrupt file can hold (the end of time, a period longer than the time before it, an
    /// unknown thread or stack) draw something or nothing, never trap; the idle task gets no lane and is counted.
    func testExtremeTimesAndTheIdleTask() {
        let timed = TimedStacks(stacks: ["swapper;idle", "t;main"], samples: [
            .init(time: 5, stack: 0, thread: 0, weight: 1), .init(time: 6, stack: 0, thread: 0, weight: 1),
            .init(time: .max, stack: 1, thread: 1, weight: .max), .init(time: .max, stack: 1, thread: 1, weight: 3),
            .init(time: 1, stack: 1, thread: 1, weight: .max), .init(time: 7, stack: 9, thread: 1), .init(time: 8, stack: 1, thread: -1),
        ], threads: [.init(pid: 0, tid: 0, name: "swapper"), .init(pid: 3, tid: 3, name: "t")])
        for clock in [true, false] {
            let svg = FlameChart.render(timed, clock: clock, options: FlameGraphOptions())
            let doc = SVGDocument(svg)
            XCTAssertTrue(doc.isWellFormed, "\(doc.errors)")
            XCTAssertTrue(doc.frames(named: "idle").isEmpty)
            XCTAssertFalse(doc.frames(named: "main").isEmpty)
            XCTAssertTrue(svg.contains("the idle task&#39;s 2 samples left out"), svg)
        }
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
