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

    /// `stack before after`: drawn with the after weights, red where a frame grew, blue where it shrank, the largest
    /// change the strongest colour; titles say the weight before and the change.
    func testDifferentialLines() throws {
        let (profile, doc) = try frames("main;grow 10 30\nmain;shrink 40 20\nmain 5 5\nmain;gone 7 0\n")
        XCTAssertEqual(profile.weights, ["main;grow": 30, "main;shrink": 20, "main": 5, "main;gone": 0])
        XCTAssertEqual(profile.baseline, ["main;grow": 10, "main;shrink": 40, "main": 5, "main;gone": 7])
        XCTAssertEqual(doc.frames(named: "grow").first?.fill, "rgb(255,0,0)")
        XCTAssertEqual(doc.frames(named: "shrink").first?.fill, "rgb(0,0,255)")
        XCTAssertEqual(doc.frames(named: "main").first?.fill, "rgb(136,136,255)", "62 to 55: a little blue")
        XCTAssertTrue(doc.frames(named: "gone").isEmpty, "nothing after: no width")
        XCTAssertEqual(doc.frames(named: "shrink").first?.title, "shrink (20 samples, 36.36%; before 40, change -20)")
        XCTAssertEqual(doc.frames(named: "main").first?.title, "main (55 samples, 100.00%; before 62, change -7)")
        let half = try frames("a;b 10 15\na;c 10 30\n").1
        XCTAssertEqual(half.frames(named: "b").first?.fill, "rgb(255,168,168)", "a fifth of the largest change (a's)")
        // Reversed (leaf first), the change stays with the same stacks.
        XCTAssertEqual(profile.reversed.baseline?["grow;main"], 10)
    }
}
