import Foundation
import XCTest

/// `ember flamegraph` with what flamegraph.pl users type, and what flamegraph.pl cannot do from perf.data in one
/// command: flame charts.
final class FlameGraphFlagsTests: XCTestCase {
    /// flamegraph.pl's options: --subtitle, --countname, --fontsize, --height, and --reverse (leaf first, merged).
    func testFlameGraphOptionsOfFlamegraphPl() throws {
        let dir = try Tool.scratchDirectory()
        let folded = dir + "/t.folded", svg = dir + "/t.svg"
        try "main;a;leaf 10\nmain;b;leaf 5\nmain;b;other 1\n".write(toFile: folded, atomically: true, encoding: .utf8)
        let r = try Tool.ember(["flamegraph", "--folded", folded, "-o", svg, "--subtitle", "made here", "--countname", "bytes",
                                "--fontsize", "10", "--height", "20", "--reverse"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let text = try String(contentsOfFile: svg, encoding: .utf8)
        XCTAssertTrue(text.contains("made here"))
        XCTAssertTrue(text.contains("font-size: 10px"))
        XCTAssertTrue(text.contains("<title>leaf (15 bytes, 93.75%)</title>"), "reversed: the leaf is the root, merged")
        XCTAssertTrue(text.contains("height=\"19"), "20-pixel frames")
        XCTAssertEqual(try Tool.ember(["flamegraph", "--folded", folded, "-o", svg, "--fontsize", "2"]).status, 64)
        // --hash and --cp ask for what Ember always does: colours from the name, the same in every graph.
        XCTAssertEqual(try Tool.ember(["flamegraph", "--folded", folded, "-o", svg]).status, 0)
        let plain = try String(contentsOfFile: svg, encoding: .utf8)
        XCTAssertEqual(try Tool.ember(["flamegraph", "--folded", folded, "-o", svg, "--hash", "--cp"]).status, 0)
        XCTAssertEqual(try String(contentsOfFile: svg, encoding: .utf8), plain)
    }

    /// The folded reader takes what flamegraph.pl takes: fractional weights, lines that are not stacks (skipped,
    /// with one warning that counts them), and difffolded.pl's `stack before after` lines as a differential graph.
    func testFoldedFilesAsFlamegraphPlReadsThem() throws {
        let dir = try Tool.scratchDirectory()
        let folded = dir + "/f.folded", svg = dir + "/f.svg"
        try "main;a 1.5\nnot a stack\nmain;b 0.5\n# comment\n".write(toFile: folded, atomically: true, encoding: .utf8)
        let r = try Tool.ember(["flamegraph", "--folded", folded, "-o", svg])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("skipped 2 lines that are not folded stacks ('frame;frame;... weight'); the first, line 2: not a stack"), r.stderr)
        XCTAssertTrue(try String(contentsOfFile: svg, encoding: .utf8).contains("<title>a (1.5 samples, 75.00%)</title>"))

        try "main;a 10 30\nmain;b 30 10\n".write(toFile: folded, atomically: true, encoding: .utf8)
        XCTAssertEqual(try Tool.ember(["flamegraph", "--folded", folded, "-o", svg]).status, 0)
        let diff = try String(contentsOfFile: svg, encoding: .utf8)
        XCTAssertTrue(diff.contains("<title>a (30 samples, 75.00%; before 10, 25.00%; its own share +50.00 points)</title>"), diff)
        XCTAssertTrue(diff.contains("fill=\"rgb(255,0,0)\"") && diff.contains("fill=\"rgb(0,0,255)\""), "red grew, blue shrank")

        try "nothing here\n".write(toFile: folded, atomically: true, encoding: .utf8)
        let bad = try Tool.ember(["flamegraph", "--folded", folded, "-o", svg])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("no folded stacks"), bad.stderr)
    }

    /// `--flamechart`: x is time. A program that runs phase_a and then phase_b, recorded with DWARF stacks, draws
    /// phase_a left of phase_b under one `main` that spans both (the unwound callers line up from sample to sample).
    /// Threads get lanes of their own, and a thread waiting for a CPU leaves gaps in its lane.
    func testFlameChartIsInTimeOrder() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let programs = Tool.packageRoot.appendingPathComponent("Tests/Programs").path
        let phases = try Tool.compileC(source: programs + "/phases.c", name: "phases", flags: ["-O1", "-g"])
        let file = dir + "/p.data", svg = dir + "/chart.svg"
        XCTAssertEqual(try Tool.ember(["record", "-q", "--call-graph", "dwarf", "-F", Tool.rate(999), "-o", file, "--", phases, "0.3", "0.3"]).status, 0)
        let r = try Tool.ember(["flamegraph", "-i", file, "--flamechart", "-o", svg])
        XCTAssertEqual(r.status, 0, r.stderr)
        let text = try String(contentsOfFile: svg, encoding: .utf8)
        XCTAssertTrue(text.contains(">Flame Chart</text>"))
        XCTAssertNotNil(try Regex("p.data: event cpu-clock, 1 thread over 0\\.[0-9]+ s; 0 s is [0-9]+\\.[0-9]{6} s on perf&#39;s clock</text>").firstMatch(in: text))
        func spans(_ name: String, in text: String) -> [(x: UInt64, w: UInt64, lane: Int)] {
            let pattern = #"<g data-x="(\d+)" data-w="(\d+)" data-l="(\d+)"><title>"# + name + " "
            let regex = try! NSRegularExpression(pattern: pattern)
            return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { m in
                func group(_ i: Int) -> String { String(text[Range(m.range(at: i), in: text)!]) }
                return (UInt64(group(1))!, UInt64(group(2))!, Int(group(3))!)
            }
        }
        let a = spans("phase_a", in: text), b = spans("phase_b", in: text), main = spans("main", in: text)
        XCTAssertFalse(a.isEmpty)
        XCTAssertFalse(b.isEmpty)
        XCTAssertLessThanOrEqual(a.map { $0.x + $0.w }.max()!, b.map(\.x).min()!, "all of phase_a before phase_b")
        XCTAssertLessThanOrEqual(a.count + b.count, 4, "each phase is one run of samples (a stray sample may split one)")
        XCTAssertLessThanOrEqual(main.count, 2, "main spans the run: \(main)")
        // A busy machine may keep the program off the CPU for a while (its lane then breaks): measure main's extent.
        let mainExtent = (main.map { $0.x + $0.w }.max() ?? 0) - (main.map(\.x).min() ?? 0)
        XCTAssertGreaterThan(Double(mainExtent), 0.5e9, "main spans most of 0.6 s: \(main)")

        // Three spinning threads on two CPUs: three lanes, and each lane's root breaks where its thread waited.
        let hogs = try Tool.compileC(source: programs + "/hogs.c", name: "hogs", flags: ["-O2", "-g", "-fno-omit-frame-pointer", "-pthread"])
        let threads = dir + "/t.data", chart = dir + "/threads.svg"
        XCTAssertEqual(try Tool.ember(["record", "-q", "-g", "-F", Tool.rate(999), "-o", threads, "--", hogs, "3", "300", "/dev/null"]).status, 0)
        XCTAssertEqual(try Tool.ember(["flamegraph", "-i", threads, "--flamechart", "-o", chart]).status, 0)
        let drawn = try String(contentsOfFile: chart, encoding: .utf8)
        let starts = spans("start_thread", in: drawn)
        XCTAssertEqual(Set(starts.map(\.lane)).count, 3, "one lane per thread")
        for lane in 0..<3 {
            XCTAssertGreaterThan(starts.filter { $0.lane == lane }.count, 1, "lane \(lane) has gaps where its thread waited for a CPU")
        }

        let bad = try Tool.ember(["flamegraph", "--folded", dir + "/none.folded", "--flamechart", "-o", svg])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("--flamechart needs a recording"), bad.stderr)
    }

    /// `--colors kind` explains its colours in a legend.
    func testKindColoursHaveALegend() throws {
        try requireRoot()
        let (_, recording) = try Tool.recordedDemoCopy()
        let svg = try Tool.scratchDirectory() + "/kind.svg"
        XCTAssertEqual(try Tool.ember(["flamegraph", "-i", recording, "--colors", "kind", "-o", svg]).status, 0)
        let text = try String(contentsOfFile: svg, encoding: .utf8)
        for label in [">the program</text>", ">shared libraries</text>", ">kernel</text>", ">unknown</text>"] {
            XCTAssertTrue(text.contains(label), label)
        }
        XCTAssertEqual(try Tool.ember(["flamegraph", "-i", recording, "-o", svg]).status, 0)
        XCTAssertFalse(try String(contentsOfFile: svg, encoding: .utf8).contains("id=\"legend\""), "only for --colors kind")
    }

    /// A first flame graph in one command: `flamegraph -- CMD` records it, writes the SVG, names the hottest
    /// functions and leaves no recording behind; with --offcpu, where it blocked; the command's status is Ember's.
    /// `record` of a command that barely ran on a CPU suggests the off-CPU one.
    func testOneCommandRecordsAndDraws() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let before = Set((try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []).filter { $0.hasPrefix("ember-flamegraph-") }
        let r = try Tool.ember(["flamegraph", "-o", dir + "/one.svg", "--", try Tool.demo(), "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(try String(contentsOfFile: dir + "/one.svg", encoding: .utf8).contains("spin_primes"))
        let hottest = r.stderr.components(separatedBy: "hottest functions (their own time):\n").last ?? ""
        XCTAssertTrue(hottest.split(separator: "\n").prefix(2).contains { $0.hasSuffix(" spin_primes") }, r.stderr)
        let after = Set((try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []).filter { $0.hasPrefix("ember-flamegraph-") }
        XCTAssertEqual(after, before, "the scratch recording is removed")
        let off = try Tool.ember(["flamegraph", "--off-cpu-only", "-o", dir + "/off.svg", "--", "/bin/sh", "-c", "/bin/sleep 0.2; exit 3"])
        XCTAssertEqual(off.status, 3, off.stderr)
        XCTAssertTrue(off.stderr.contains("where it blocked longest") && off.stderr.contains(" clock_nanosleep\n"), off.stderr)
        // record of a command that mostly waits points at --off-cpu, not at a flame graph of its few samples.
        let idle = try Tool.ember(["record", "-o", dir + "/idle.data", "--", "/bin/sleep", "0.3"])
        XCTAssertTrue(idle.stderr.contains("on the CPU and off it: ember record --off-cpu -- /bin/sleep 0.3"), idle.stderr)
        let busy = try Tool.ember(["record", "-o", dir + "/busy.data", "--", try Tool.demo(), "0.5"])
        XCTAssertTrue(busy.stderr.contains("next: ember report -i \(dir)/busy.data"), busy.stderr)
        let both = try Tool.ember(["flamegraph", "-i", dir + "/x.data", "--", "/bin/true"])
        XCTAssertEqual(both.status, 64, both.stderr)
    }
}
