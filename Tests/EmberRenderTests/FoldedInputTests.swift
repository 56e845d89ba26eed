import EmberReplay
import XCTest
@testable import EmberRender
import EmberStacks

/// Folded files as flamegraph.pl reads them: fractional weights, lines that are not stacks, and difffolded.pl's
/// three-column differential lines.
final class FoldedInputTests: XCTestCase {
    private func frames(_ text: String) throws -> (FoldedProfile, SVGDocument) {
        let profile = try FoldedProfile.parse(Substring(text))
        let doc = SVGDocument(FlameGraph.render(profile, options: FlameGraphOptions()))
        XCTAssertTrue(doc.isWellFormed, "\(doc.errors)")
        return (profile, doc)
    }

    func testFractionalWeightsAreExact() throws {
        let (profile, doc) = try frames("a;b 1.5\na;c 0.25\na;b 2\n")
        XCTAssertEqual(profile.scale, 100)
        XCTAssertEqual(profile.weights, ["a;b": 350, "a;c": 25])
        XCTAssertEqual(doc.frames(named: "b").first?.title, "b (3.5 samples, 93.33%)")
        XCTAssertEqual(doc.frames(named: "c").first?.title, "c (0.25 samples, 6.67%)")
        // Past six decimals, rounded.
        XCTAssertEqual(try FoldedProfile.parse("x 0.12345678\n").weights, ["x": 123457])
    }

    func testLinesThatAreNotStacksAreSkippedAndCounted() throws {
        let profile = try FoldedProfile.parse("junk\na;b 3\n\nc 1x\nd -2\na;b 2\r\n")
        XCTAssertEqual(profile.weights, ["a;b": 5])
        XCTAssertEqual(profile.skippedLines, 3)
        XCTAssertEqual(profile.firstSkipped, "line 1: junk")
        XCTAssertThrowsError(try FoldedProfile.parse("junk\nmore junk\n")) { error in
            XCTAssertEqual(error as? FoldedParseError, .noStacks(firstBad: "line 1: junk"))
        }
        XCTAssertEqual(try FoldedProfile.parse("\n\n").weights, [:], "an empty file is an empty profile")
        XCTAssertThrowsError(try FoldedProfile.parse("a 18446744073709551615\nb 1\n"))
    }

    /// `stack before after`: drawn with the after weights, coloured as difffolded colours them, by the change of
    /// each frame's own share of its profile's total (red grew, blue shrank, the largest change the strongest);
    /// titles say the weight and share before and that change in points.
    func testDifferentialLines() throws {
        let (profile, doc) = try frames("main;grow 10 30\nmain;shrink 40 20\nmain 5 5\nmain;gone 7 0\n")
        XCTAssertEqual(profile.weights, ["main;grow": 30, "main;shrink": 20, "main": 5, "main;gone": 0])
        XCTAssertEqual(profile.baseline, ["main;grow": 10, "main;shrink": 40, "main": 5, "main;gone": 7])
        // Own shares: grow 16.13% -> 54.55% (+38.42 points, the largest), shrink 64.52% -> 36.36% (-28.15),
        // main's own 8.06% -> 9.09% (+1.03).
        XCTAssertEqual(doc.frames(named: "grow").first?.fill, "rgb(255,0,0)")
        XCTAssertEqual(doc.frames(named: "shrink").first?.fill, "rgb(56,56,255)")
        XCTAssertEqual(doc.frames(named: "main").first?.fill, "rgb(255,204,204)", "its own share grew a little")
        XCTAssertTrue(doc.frames(named: "gone").isEmpty, "nothing after: no width")
        XCTAssertEqual(doc.frames(named: "shrink").first?.title, "shrink (20 samples, 36.36%; before 40, 64.52%; its own share -28.15 points)")
        XCTAssertEqual(doc.frames(named: "main").first?.title, "main (55 samples, 100.00%; before 62, 100.00%; its own share +1.03 points)")
        // --diff-inclusive: today's colours, by the change of the inclusive weight.
        var inclusive = FlameGraphOptions()
        inclusive.diffInclusive = true
        let old = SVGDocument(FlameGraph.render(profile, options: inclusive))
        XCTAssertEqual(old.frames(named: "main").first?.fill, "rgb(136,136,255)", "62 to 55: a little blue")
        XCTAssertEqual(old.frames(named: "shrink").first?.title, "shrink (20 samples, 36.36%; before 40, change -20)")
        // Reversed (leaf first), the change stays with the same stacks.
        XCTAssertEqual(profile.reversed.baseline?["grow;main"], 10)
    }

    /// A profile against itself is all white; when one leaf grew, its callers, whose own time did not change, stay
    /// white (the inclusive colouring reddened them all), and so do changes under the threshold.
    func testDifferentialColoursTheFrameThatChanged() throws {
        let same = try frames("a;b 5 5\na;c 3 3\n").1
        XCTAssertEqual(Set(same.frames.map(\.fill)), ["rgb(255,255,255)"])
        let (_, grew) = try frames("a;b;x 10 20\na;b;y 10 10\na;c 10 10\n")
        XCTAssertEqual(grew.frames(named: "x").first?.fill, "rgb(255,0,0)")
        XCTAssertEqual(grew.frames(named: "a").first?.fill, "rgb(255,255,255)")
        XCTAssertEqual(grew.frames(named: "b").first?.fill, "rgb(255,255,255)")
        var coarse = FlameGraphOptions()
        coarse.diffThreshold = 20
        let profile = try FoldedProfile.parse(Substring("a;b;x 10 20\na;b;y 10 10\na;c 10 10\n"))
        XCTAssertEqual(Set(SVGDocument(FlameGraph.render(profile, options: coarse)).frames.map(\.fill)), ["rgb(255,255,255)"],
                       "16.7 points is under a threshold of 20")
    }
}
