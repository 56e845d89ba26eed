import EmberReplay
import Foundation
import XCTest
@testable import EmberRender
import EmberStacks

final class FlameGraphTests: XCTestCase {
    // Default geometry: width 1200, 10 px margins (1180 px for frames), rows 16 px, font 12 px,
    // 36 px above the frames (title), 34 px below (details line).

    private func profile(_ stacks: [(String, UInt64)]) -> FoldedProfile {
        var profile = FoldedProfile()
        for (stack, weight) in stacks { profile.add(stack: stack, weight: weight) }
        return profile
    }

    private func render(_ stacks: [(String, UInt64)], _ configure: (inout FlameGraphOptions) -> Void = { _ in })
        -> (svg: String, doc: SVGDocument) {
        var options = FlameGraphOptions()
        configure(&options)
        let svg = FlameGraph.render(profile(stacks), options: options)
        return (svg, SVGDocument(svg))
    }

    private func only(_ doc: SVGDocument, _ name: String, file: StaticString = #filePath, line: UInt = #line)
        -> SVGDocument.Frame {
        let matches = doc.frames(named: name)
        XCTAssertEqual(matches.count, 1, "frames named \(name)", file: file, line: line)
        return matches.first ?? SVGDocument.Frame()
    }

    // MARK: XML

    func testEscapesXMLSpecialCharactersInNamesAndTitle() {
        let nasty = "operator<<(std::ostream&, \"x\")'s>"
        let (svg, doc) = render([("main;\(nasty)", 1), ("main;bad\u{1}char", 1)]) {
            $0.title = "A & B <c>"
            $0.subtitle = "\"quoted\" 'single'"
        }
        XCTAssertTrue(doc.isWellFormed, "not well-formed XML: \(doc.errors)")
        XCTAssertTrue(svg.contains("operator&lt;&lt;(std::ostream&amp;, &quot;x&quot;)&#39;s&gt;"))
        XCTAssertFalse(svg.contains("operator<<"))
        XCTAssertFalse(svg.contains("\u{1}"))
        XCTAssertTrue(svg.contains("<text id=\"title\" x=\"600\" y=\"24\">A &amp; B &lt;c&gt;</text>"))
        XCTAssertEqual(doc.texts["title"], "A & B <c>")
        XCTAssertEqual(doc.texts["subtitle"], "\"quoted\" 'single'")
        XCTAssertEqual(only(doc, nasty).title, nasty + " (1 samples, 50.00%)")
        XCTAssertEqual(only(doc, "bad\u{FFFD}char").dataW, 1)
    }

    func testIsSelfContainedAndInteractive() {
        let (svg, doc) = render([("a;b", 1)])
        XCTAssertTrue(doc.isWellFormed, "\(doc.errors)")
        // The only URL is the SVG namespace name, which is never fetched.
        XCTAssertEqual(svg.components(separatedBy: "http").count - 1, 1)
        XCTAssertFalse(svg.contains("href"))
        XCTAssertFalse(svg.contains("@import"))
        XCTAssertTrue(svg.contains("<script type=\"text/ecmascript\"><![CDATA["))
        XCTAssertFalse(FlameGraph.scriptBody.contains("]]>"))
        for needle in ["Function: ", "Matched: ", "Reset Search", "Escape", "new RegExp"] {
            XCTAssertTrue(svg.contains(needle), needle)
        }
        XCTAssertEqual(doc.texts["unzoom"], "Reset Zoom")
        XCTAssertEqual(doc.texts["search"], "Search")
        XCTAssertEqual(doc.texts["details"], "\u{A0}")
        XCTAssertTrue(svg.hasSuffix("</svg>\n"))
        // The search ignores case unless asked not to (flamegraph.pl --ignorecase).
        XCTAssertTrue(svg.contains("FLAGS = \"i\", CHART = null;") && svg.contains("new RegExp(term, FLAGS)"))
        XCTAssertTrue(render([("a;b", 1)]) { $0.searchIgnoresCase = false }.svg.contains("FLAGS = \"\", CHART = null;"))
    }

    // MARK: Geometry

    func testWidthsAreProportionalToWeight() {
        let (_, doc) = render([("a;b", 30), ("a;c", 10), ("d", 60)])
        XCTAssertTrue(doc.isWellFormed, "\(doc.errors)")
        XCTAssertEqual(doc.frames.count, 5)
        let expected: [(String, x: Double, width: Double)] = [
            ("all", 10, 1180), ("a", 10, 472), ("b", 10, 354), ("c", 364, 118), ("d", 482, 708),
        ]
        for (name, x, width) in expected {
            let frame = only(doc, name)
            XCTAssertEqual(frame.x, x, accuracy: 0.006, name)
            XCTAssertEqual(frame.width, width, accuracy: 0.006, name)
        }
        for frame in doc.frames {
            XCTAssertEqual(frame.width, Double(frame.dataW) * 1180 / 100, accuracy: 0.006, frame.name)
            XCTAssertEqual(frame.x, 10 + Double(frame.dataX) * 1180 / 100, accuracy: 0.006, frame.name)
            XCTAssertEqual(frame.height, 15)
        }
        XCTAssertEqual(only(doc, "all").title, "all (100 samples, 100.00%)")
        XCTAssertEqual(only(doc, "c").title, "c (10 samples, 10.00%)")
    }

    func testChildrenAreMergedByNameAndSortedByName() {
        let (_, doc) = render([
            ("main;zeta", 1), ("main;alpha;x", 1), ("main;beta;y", 1), ("main;beta;x", 1),
            ("main;alpha", 2), ("main;Alpha", 1),
        ])
        XCTAssertTrue(doc.isWellFormed, "\(doc.errors)")
        XCTAssertEqual(only(doc, "main").dataW, 7)
        let alpha = only(doc, "alpha")
        XCTAssertEqual(alpha.dataW, 3)  // its own 2 plus the child x
        let row = doc.frames.filter { $0.y == alpha.y }.sorted { $0.x < $1.x }
        XCTAssertEqual(row.map(\.name), ["Alpha", "alpha", "beta", "zeta"])  // bytewise: uppercase first
        XCTAssertEqual(row.map(\.dataX), [0, 1, 4, 6])
        XCTAssertEqual(row.map(\.dataW), [1, 3, 2, 1])
        // x under beta comes before y; x under alpha is a different frame.
        let xs = doc.frames(named: "x").sorted { $0.x < $1.x }
        XCTAssertEqual(xs.map(\.dataX), [1, 4])
        XCTAssertEqual(only(doc, "y").dataX, 5)
    }

    func testFramesAreOrderedFrameByFrameNotByJoinedText() {
        // Bytewise "r;a-b" sorts between "r;a" and "r;a;x"; the tree must still hold a single "a".
        let (_, doc) = render([("r;a;x", 1), ("r;a-b", 1), ("r;a", 1)])
        let a = only(doc, "a")
        XCTAssertEqual(a.dataW, 2)
        let row = doc.frames.filter { $0.y == a.y }.sorted { $0.x < $1.x }
        XCTAssertEqual(row.map(\.name), ["a", "a-b"])
    }

    func testMinWidthOmitsNarrowFramesAndTheirRows() {
        let stacks: [(String, UInt64)] = [("big", 10_000), ("tiny;deeper;deepest", 1)]  // tiny ≈ 0.118 px
        let (_, defaults) = render(stacks)
        XCTAssertEqual(defaults.frames.count, 5)
        XCTAssertEqual(defaults.height, 36 + 4 * 16 + 34)

        let (_, pruned) = render(stacks) { $0.minWidth = 0.5 }
        XCTAssertTrue(pruned.isWellFormed, "\(pruned.errors)")
        XCTAssertEqual(pruned.frames.map(\.name).sorted(), ["all", "big"])
        XCTAssertEqual(pruned.height, 36 + 2 * 16 + 34)
        XCTAssertEqual(only(pruned, "all").dataW, 10_001)  // omitted frames still count in the total
    }

    func testInvertedPutsTheRootOnTop() {
        let (normalSVG, normal) = render([("a;b", 1)])
        XCTAssertEqual(normal.height, 118)
        XCTAssertEqual([only(normal, "all").y, only(normal, "a").y, only(normal, "b").y], [68, 52, 36])
        XCTAssertEqual(normal.texts["title"], "Flame Graph")
        XCTAssertTrue(normalSVG.contains("INVERTED = false"))

        let (invertedSVG, inverted) = render([("a;b", 1)]) { $0.inverted = true }
        XCTAssertTrue(inverted.isWellFormed, "\(inverted.errors)")
        XCTAssertEqual(inverted.height, 118)
        XCTAssertEqual([only(inverted, "all").y, only(inverted, "a").y, only(inverted, "b").y], [36, 52, 68])
        XCTAssertEqual(inverted.texts["title"], "Icicle Graph")
        XCTAssertTrue(invertedSVG.contains("INVERTED = true"))

        let (_, custom) = render([("a;b", 1)]) { $0.inverted = true; $0.title = "Mine" }
        XCTAssertEqual(custom.texts["title"], "Mine")
    }

    func testSubtitleMakesRoomAboveTheFrames() {
        let (_, doc) = render([("a", 1)]) { $0.subtitle = "pid 42" }
        XCTAssertEqual(doc.texts["subtitle"], "pid 42")
        XCTAssertEqual(doc.height, 36 + 24 + 2 * 16 + 34)
        XCTAssertEqual(only(doc, "a").y, 60)
    }

    // MARK: Labels and titles

    func testLabelsAreTruncatedToFitOrOmitted() {
        let long = String(repeating: "x", count: 300)
        let (_, doc) = render([(long, 1), ("short", 1)])  // 590 px each: (590 - 3) / 7.08 → 82 characters
        let label = only(doc, long).label
        XCTAssertEqual(label, String(repeating: "x", count: 80) + "..")
        XCTAssertEqual(only(doc, long).title, long + " (1 samples, 50.00%)")
        XCTAssertEqual(only(doc, "short").label, "short")
        XCTAssertEqual(only(doc, "all").label, "all")

        let (_, narrow) = render([("wide", 1_000), ("narrow_function", 1)])  // about 1.2 px
        XCTAssertEqual(only(narrow, "narrow_function").label, "")
        XCTAssertEqual(only(narrow, "wide").label, "wide")
    }

    func testCountNameAndThousandsSeparators() {
        let (_, doc) = render([("a", 1_234)]) { $0.countName = "bytes" }
        XCTAssertEqual(only(doc, "all").title, "all (1,234 bytes, 100.00%)")
    }

    // MARK: Determinism and colours

    func testOutputIsDeterministic() {
        var stacks: [(String, UInt64)] = []
        var seed: UInt64 = 12_345
        for i in 0..<500 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            stacks.append(("p\(seed % 3);f\((seed >> 20) % 17);g\((seed >> 30) % 29);leaf\(i)", seed % 50 + 1))
        }
        var options = FlameGraphOptions()
        options.palette = .kind
        var forward = profile(stacks)
        forward.setKind(.kernel, of: "p0")
        forward.setKind(.library, of: "f3")
        var backward = profile(stacks.reversed())
        backward.setKind(.library, of: "f3")
        backward.setKind(.kernel, of: "p0")

        let first = FlameGraph.render(forward, options: options)
        XCTAssertEqual(first, FlameGraph.render(forward, options: options))
        XCTAssertEqual(first, FlameGraph.render(backward, options: options))
        XCTAssertTrue(SVGDocument(first).isWellFormed)
    }

    func testColoursComeFromAStableHashOfTheName() {
        XCTAssertEqual(FlameGraphPalette.fnv1a(""), 0xcbf2_9ce4_8422_2325)
        XCTAssertEqual(FlameGraphPalette.fnv1a("a"), 0xaf63_dc4c_8601_ec8c)

        let (_, doc) = render([("p;shared", 1), ("q;r;shared", 3)])
        let shared = doc.frames(named: "shared")
        XCTAssertEqual(shared.count, 2)
        XCTAssertEqual(shared[0].fill, shared[1].fill)
        XCTAssertEqual(shared[0].fill, FlameGraphPalette.hot.fill(for: "shared", kind: nil))

        let kinds: [FrameKind?] = [nil] + FrameKind.allCases.map { $0 }
        for palette in FlameGraphPalette.allCases {
            for kind in kinds {
                for i in 0..<200 {
                    let (r, g, b) = palette.rgb(for: "function_\(i)", kind: kind)
                    XCTAssertTrue([r, g, b].allSatisfy { (0...255).contains($0) }, "\(palette) \(i)")
                }
            }
        }
        let kernel = FlameGraphPalette.kind.rgb(for: "schedule", kind: .kernel)
        XCTAssertGreaterThanOrEqual(kernel.0, 225)
        let unknown = FlameGraphPalette.kind.rgb(for: "[unknown]", kind: .unknown)
        XCTAssertTrue(unknown.0 == unknown.1 && unknown.1 == unknown.2)
    }

    /// Draws `profile` with `--colors kind` and checks each named frame's fill is its kind's.
    private func assertKindFills(_ profile: FoldedProfile, _ expected: [(String, FrameKind)], file: StaticString = #filePath, line: UInt = #line) -> SVGDocument {
        var options = FlameGraphOptions()
        options.palette = .kind
        let doc = SVGDocument(FlameGraph.render(profile, options: options))
        for (name, kind) in expected {
            XCTAssertEqual(only(doc, name).fill, FlameGraphPalette.kind.fill(for: name, kind: kind), name, file: file, line: line)
        }
        return doc
    }

    func testKindPaletteUsesTheProfilesKinds() {
        var profile = FoldedProfile()
        profile.add(stack: "app;libc_call;sys_write", weight: 1)
        profile.setKind(.application, of: "app")
        profile.setKind(.library, of: "libc_call")
        profile.setKind(.kernel, of: "sys_write")
        let doc = assertKindFills(profile, [("app", .application), ("libc_call", .library), ("sys_write", .kernel)])
        XCTAssertEqual(only(doc, "all").fill, FlameGraphPalette.hot.fill(for: "all", kind: nil))
    }

    /// Folded stacks that carry no kinds (flamegraph.pl's input) are coloured by their names: stackcollapse's
    /// `_[k]` the kernel, a binary in brackets a library, `[unknown]` unknown, the rest the program.
    func testKindPaletteClassifiesFoldedNames() throws {
        let profile = try FoldedProfile.parse(Substring("main;parse;[libc.so.6];entry_SYSCALL_64_[k] 3\nmain;[unknown] 1\n"))
        _ = assertKindFills(profile, [("parse", .application), ("[libc.so.6]", .library), ("entry_SYSCALL_64_[k]", .kernel),
                                      ("[unknown]", .unknown)])
    }

    // MARK: Edge cases

    func testEmptyProfileSaysSo() {
        let svg = FlameGraph.render(FoldedProfile(), options: FlameGraphOptions())
        let doc = SVGDocument(svg)
        XCTAssertTrue(doc.isWellFormed, "\(doc.errors)")
        XCTAssertTrue(doc.frames.isEmpty)
        XCTAssertEqual(doc.texts["empty"], "No stack counts found")
        XCTAssertEqual(doc.texts["title"], "Flame Graph")

        var zero = FoldedProfile()
        zero.add(stack: "a;b", weight: 0)
        XCTAssertEqual(FlameGraph.render(zero, options: FlameGraphOptions()), svg)
    }

    func testFormatters() {
        XCTAssertEqual(SVGWriter.fixed(3, decimals: 2, trim: false), "3.00")
        XCTAssertEqual(SVGWriter.fixed(3, decimals: 2, trim: true), "3")
        XCTAssertEqual(SVGWriter.fixed(10.5, decimals: 2, trim: true), "10.5")
        XCTAssertEqual(SVGWriter.fixed(0.05, decimals: 2, trim: false), "0.05")
        XCTAssertEqual(SVGWriter.fixed(1234.5678, decimals: 2, trim: true), "1234.57")
        XCTAssertEqual(SVGWriter.fixed(-1.25, decimals: 1, trim: true), "-1.3")
        XCTAssertEqual(SVGWriter.fixed(-0.001, decimals: 2, trim: true), "0")
        XCTAssertEqual(SVGWriter.fixed(.nan, decimals: 2, trim: true), "0")
        XCTAssertEqual(SVGWriter.grouped(0), "0")
        XCTAssertEqual(SVGWriter.grouped(999), "999")
        XCTAssertEqual(SVGWriter.grouped(1_000), "1,000")
        XCTAssertEqual(SVGWriter.grouped(1_234_567), "1,234,567")
    }

    // MARK: Golden file

    func testMatchesGoldenFile() throws {
        var profile = FoldedProfile()
        profile.add(stack: "main;parse;lex", weight: 30)
        profile.add(stack: "main;parse", weight: 10)
        profile.add(stack: "main;render;draw<T> & \"co\"", weight: 25)
        profile.add(stack: "main;render", weight: 5)
        profile.add(stack: "kworker/0:1;worker_thread;schedule", weight: 2)
        profile.add(stack: "main;a_function_with_a_rather_long_name_that_needs_truncation", weight: 3)
        var options = FlameGraphOptions()
        options.subtitle = "golden"
        options.width = 600
        let actual = FlameGraph.render(profile, options: options)

        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures").appendingPathComponent("small.svg")
        guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(),
                                                    withIntermediateDirectories: true)
            try actual.write(to: url, atomically: true, encoding: .utf8)
            XCTFail("Golden file was missing, so it was written to \(url.path); review it and commit it.")
            return
        }
        if actual != expected {
            let dump = FileManager.default.temporaryDirectory.appendingPathComponent("small.actual.svg")
            try? actual.write(to: dump, atomically: true, encoding: .utf8)
            let actualLines = actual.split(separator: "\n", omittingEmptySubsequences: false)
            let expectedLines = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let common = min(actualLines.count, expectedLines.count)
            let line = (0..<common).first { actualLines[$0] != expectedLines[$0] } ?? common
            XCTFail("""
                Output differs from \(url.path) at line \(line + 1) (actual written to \(dump.path)).
                If the change is intended, delete the golden file and rerun to regenerate it.
                """)
        }
        XCTAssertTrue(SVGDocument(actual).isWellFormed)
    }
}
