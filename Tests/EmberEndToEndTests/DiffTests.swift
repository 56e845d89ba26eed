import Foundation
import XCTest

/// What changed between two profiles: `flamegraph --diff` and `report --diff`, on two runs of a program whose two
/// phases trade their share of the time.
final class DiffTests: XCTestCase {
    private func recordings() throws -> (before: String, after: String, dir: String) {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let programs = Tool.packageRoot.appendingPathComponent("Tests/Programs").path
        let phases = try Tool.compileC(source: programs + "/phases.c", name: "phases", flags: ["-O1", "-g", "-fno-omit-frame-pointer"])
        // BEFORE: phase_a 3/4 of the time; AFTER: phase_b 3/4.
        for (file, a, b) in [("before.data", "0.3", "0.1"), ("after.data", "0.1", "0.3")] {
            let r = try Tool.ember(["record", "-q", "-g", "-F", Tool.rate(999), "-o", dir + "/" + file, "--", phases, a, b])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        return (dir + "/before.data", dir + "/after.data", dir)
    }

    private func frame(_ svg: String, _ name: String) -> (title: String, fill: String)? {
        guard let range = svg.range(of: "<title>" + name + " (") else { return nil }
        let rest = svg[range.lowerBound...]
        let title = String(rest.dropFirst(7).prefix { $0 != "<" })
        guard let fill = rest.range(of: "fill=\"") else { return nil }
        return (title, String(rest[fill.upperBound...].prefix { $0 != "\"" }))
    }

    /// AFTER's shape, coloured by the change of each frame's own share: the time burnt under phase_b red (it
    /// grew) and under phase_a blue, the phases and main, which burn nothing themselves, white. With
    /// --diff-inclusive phase_b is red and phase_a blue; titles give the weight before and the change. --negate
    /// draws BEFORE's shape with the same colours; two folded files work as well.
    func testDifferentialFlameGraph() throws {
        let (before, after, dir) = try recordings()
        let own = dir + "/own.svg"
        XCTAssertEqual(try Tool.ember(["flamegraph", "--diff", before, after, "-o", own]).status, 0)
        let ownText = try String(contentsOfFile: own, encoding: .utf8)
        // The subtitle says how long each recording covers.
        XCTAssertNotNil(try Regex("points\\); [^ ]+ over [0-9.]+ s, [^ ]+ over [0-9.]+ s</text>").firstMatch(in: ownText), String(ownText.prefix(2000)))
        for caller in ["main", "phase_a", "phase_b"] {
            XCTAssertEqual(try XCTUnwrap(frame(ownText, caller)).fill, "rgb(255,255,255)", "\(caller) burns nothing itself")
        }
        let burns = ownText.components(separatedBy: "<title>burn (").dropFirst().map { String($0.prefix { $0 != "<" }) }
        XCTAssertEqual(burns.count, 2, ownText)
        XCTAssertTrue(burns.allSatisfy { $0.contains(" points)") }, "\(burns)")
        XCTAssertTrue(ownText.components(separatedBy: "<title>burn (").dropFirst().first?.contains(",255)\" rx") == true, "under phase_a: blue")
        XCTAssertTrue(ownText.components(separatedBy: "<title>burn (").last?.contains("fill=\"rgb(255,") == true, "under phase_b: red")
        let svg = dir + "/diff.svg"
        let r = try Tool.ember(["flamegraph", "--diff", before, after, "--diff-inclusive", "-o", svg])
        XCTAssertEqual(r.status, 0, r.stderr)
        let text = try String(contentsOfFile: svg, encoding: .utf8)
        XCTAssertTrue(text.contains(">Differential Flame Graph</text>"))
        let a = try XCTUnwrap(frame(text, "phase_a")), b = try XCTUnwrap(frame(text, "phase_b"))
        XCTAssertTrue(b.fill.hasPrefix("rgb(255,") && !b.fill.hasSuffix(",255)"), "phase_b grew: red, \(b)")
        XCTAssertTrue(a.fill.hasSuffix(",255)") && !a.fill.hasPrefix("rgb(255,"), "phase_a shrank: blue, \(a)")
        XCTAssertTrue(b.title.contains("; before ") && b.title.contains(", change +"), b.title)
        XCTAssertTrue(a.title.contains(", change -"), a.title)
        func share(_ title: String) -> Double { Double(title.split(separator: ",").dropFirst().first { $0.contains("%") }?.split(separator: "%").first?.split(separator: " ").last ?? "") ?? 0 }
        XCTAssertGreaterThan(share(b.title), share(a.title), "AFTER's shape: phase_b wider")

        let negated = dir + "/negated.svg"
        XCTAssertEqual(try Tool.ember(["flamegraph", "--diff", before, after, "--negate", "--diff-inclusive", "-o", negated]).status, 0)
        let n = try String(contentsOfFile: negated, encoding: .utf8)
        let na = try XCTUnwrap(frame(n, "phase_a")), nb = try XCTUnwrap(frame(n, "phase_b"))
        XCTAssertGreaterThan(share(na.title), share(nb.title), "BEFORE's shape: phase_a wider")
        XCTAssertTrue(nb.fill.hasPrefix("rgb(255,") && na.fill.hasSuffix(",255)"), "still red where AFTER grew")

        // An archive is a recording too: the same graph.
        XCTAssertEqual(try Tool.ember(["archive", "-i", before, "-o", dir + "/before.ember"]).status, 0)
        XCTAssertEqual(try Tool.ember(["flamegraph", "--diff", dir + "/before.ember", after, "--diff-inclusive", "-o", dir + "/archived.svg"]).status, 0)
        XCTAssertEqual(try String(contentsOfFile: dir + "/archived.svg", encoding: .utf8).replacingOccurrences(of: dir + "/before.ember", with: before), text)

        // Folded files: the same stacks, and --no-normalize compares raw counts.
        for (file, data) in [("b.folded", before), ("a.folded", after)] {
            try Tool.ember(["collapse", "-i", data, "--count"]).stdout.write(toFile: dir + "/" + file, atomically: true, encoding: .utf8)
        }
        XCTAssertEqual(try Tool.ember(["flamegraph", "--diff", dir + "/b.folded", dir + "/a.folded", "--no-normalize", "--diff-inclusive", "-o", svg]).status, 0)
        let folded = try String(contentsOfFile: svg, encoding: .utf8)
        XCTAssertTrue(try XCTUnwrap(frame(folded, "phase_b")).fill.hasPrefix("rgb(255,"))
    }

    /// report --diff: each entry's shares in both and the change, the largest first: phase_a and phase_b trade
    /// about half the samples (in Children: the time is spent in what they call).
    func testReportDiff() throws {
        let (before, after, _) = try recordings()
        let r = try Tool.ember(["report", "--diff", before, after, "--sort", "sym"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = r.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }
        XCTAssertGreaterThanOrEqual(rows.count, 2)
        let top = Set(rows.prefix(2).compactMap { $0.split(separator: " ").last.map(String.init) })
        XCTAssertEqual(top, ["phase_a", "phase_b"], r.stdout)
        func change(_ name: String) -> Double {
            let row = rows.first { $0.hasSuffix(" " + name) }
            return Double(row?.split(separator: " ")[2] ?? "") ?? 0
        }
        XCTAssertGreaterThan(change("phase_b"), 30, r.stdout)
        XCTAssertLessThan(change("phase_a"), -30, r.stdout)
    }

    /// Profiles of different events are not compared: the error names both.
    func testDiffOfDifferentEvents() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let demo = try Tool.demo()
        XCTAssertEqual(try Tool.ember(["record", "-q", "-o", dir + "/c.data", "--", demo, "0.1"]).status, 0)
        XCTAssertEqual(try Tool.ember(["record", "-q", "-e", "task-clock", "-o", dir + "/t.data", "--", demo, "0.1"]).status, 0)
        for command in ["flamegraph", "report"] {
            let r = try Tool.ember([command, "--diff", dir + "/c.data", dir + "/t.data", "-o", dir + "/x.svg"].filter { command == "flamegraph" || !$0.hasSuffix(".svg") && $0 != "-o" })
            XCTAssertEqual(r.status, 1, command)
            XCTAssertTrue(r.stderr.contains("samples cpu-clock but") && r.stderr.contains("samples task-clock"), r.stderr)
        }
        XCTAssertEqual(try Tool.ember(["report", "--diff", dir + "/c.data"]).status, 64)
    }
}
