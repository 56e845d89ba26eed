import Foundation
import XCTest

/// Ember's pictures opened in headless Chromium and used as a reader would, through the DevTools protocol
/// (`Tests/Browser/cdp.py`): hover, click, search and selection do what the README says. No pixels are compared.
final class BrowserTests: XCTestCase {
    /// Runs `steps` on `file` in Chromium; the value of each `eval` step, in order.
    private func browse(_ file: String, _ steps: [[String: Any]]) throws -> [Any] {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"), "needs chromium (make deps installs it)")
        let input = try Tool.scratchDirectory() + "/steps.json"
        try JSONSerialization.data(withJSONObject: steps).write(to: URL(fileURLWithPath: input))
        let script = Tool.packageRoot.appendingPathComponent("Tests/Browser/cdp.py").path
        let r = try Tool.run("/usr/bin/python3", [script, URL(fileURLWithPath: file).absoluteString], stdin: input, timeout: 120)
        let values = r.stdout.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8), options: .fragmentsAllowed) }
        XCTAssertEqual(r.status, 0, "cdp.py: \(r.stdout) \(r.stderr)")
        return values.map { $0 ?? NSNull() }
    }

    /// The centre of the frame named `name` (a JS expression giving [x, y]).
    private func frameCentre(_ name: String) -> String {
        """
        (function () {
          var r = \(widestFrame(name)).children[1].getBoundingClientRect();
          return [r.x + r.width / 2, r.y + r.height / 2];
        })()
        """
    }

    private func frameWidth(_ name: String) -> String {
        "Number(\(widestFrame(name)).children[1].getAttribute('width'))"
    }

    /// The widest frame of function `name` (a flame chart has one per run of samples: a busy machine may split a run).
    private func widestFrame(_ name: String) -> String {
        """
        Array.from(document.querySelectorAll('#frames > g')).filter(function (g) { return g.children[0].textContent.indexOf('\(name) (') === 0; })
          .reduce(function (a, b) { return Number(b.children[1].getAttribute('width')) > Number(a.children[1].getAttribute('width')) ? b : a; })
        """
    }

    /// The flame graph of a recording: hover names the frame with its share, a click zooms it to the full width,
    /// a search (Ctrl-F's prompt) highlights and measures the matches, Escape puts everything back.
    func testFlameGraphHoverZoomSearch() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let binary = try Tool.compileC(source: Tool.packageRoot.appendingPathComponent("Tests/Programs/hotline.c").path, name: "hotline",
                                       flags: ["-O2", "-g", "-fno-omit-frame-pointer"])
        let svg = dir + "/flame.svg"
        let rec = try Tool.ember(["record", "-q", "-g", "-F", Tool.rate(999), "-o", dir + "/hot.data", "--", binary, "1", "mixed"])
        XCTAssertEqual(rec.status, 0, rec.stderr)
        let r = try Tool.ember(["flamegraph", "-i", dir + "/hot.data", "-o", svg])
        XCTAssertEqual(r.status, 0, r.stderr)
        // The subtitle says what was measured and over how long.
        let markup = try String(contentsOfFile: svg, encoding: .utf8)
        XCTAssertNotNil(try Regex("hot.data: event cpu-clock, over 1(\\.[0-9]+)? s</text>").firstMatch(in: markup), String(markup.prefix(3000)))
        let full = "(function () { var s = document.querySelector('svg'); return Number(s.getAttribute('width')) - 20; })()"
        let values = try browse(svg, [
            ["mouse": "move", "at": frameCentre("hot_function")],
            ["eval": "document.getElementById('details').textContent"],
            ["eval": frameWidth("hot_function")],
            ["mouse": "click", "at": frameCentre("hot_function")],
            ["eval": frameWidth("hot_function")],
            ["eval": full],
            ["eval": "document.getElementById('unzoom').classList.contains('hide')"],
            ["answer": "^mix"],
            ["key": "F3"],
            ["eval": "document.getElementById('matched').textContent"],
            ["key": "Escape"],
            ["eval": "document.getElementById('matched').textContent.trim() + '|' + document.getElementById('unzoom').classList.contains('hide')"],
        ])
        XCTAssertEqual(values.count, 7, "\(values)")
        guard values.count == 7 else { return }
        let details = values[0] as? String ?? ""
        XCTAssertTrue(details.hasPrefix("Function: hot_function ("), details)
        let share = Double(details.split(separator: ",").last?.split(separator: "%").first?.trimmingCharacters(in: .whitespaces) ?? "") ?? 0
        XCTAssertGreaterThan(share, 40, details)
        let before = values[1] as? Double ?? 0, after = values[2] as? Double ?? 0, span = values[3] as? Double ?? 0
        XCTAssertLessThan(before, span * 0.95)
        XCTAssertEqual(after, span, accuracy: 1, "the clicked frame fills the width")
        XCTAssertEqual(values[4] as? Bool, false, "Reset Zoom shows while zoomed")
        let matched = values[5] as? String ?? ""
        XCTAssertTrue(matched.hasPrefix("Matched: "), matched)
        XCTAssertGreaterThan(Double(matched.dropFirst(9).dropLast()) ?? 0, 10, matched)
        XCTAssertEqual(values[6] as? String, "|true", "Escape resets the search and the zoom")
    }

    /// A differential flame graph: a self-diff is one colour; where one leaf grew it alone is red, its callers
    /// neutral, and hovering it gives both shares and the change in points.
    func testDiffColoursAndTooltips() throws {
        let dir = try Tool.scratchDirectory()
        try "main;a;leaf1 100\nmain;b;leaf2 100\n".write(toFile: dir + "/before.folded", atomically: true, encoding: .utf8)
        try "main;a;leaf1 100\nmain;b;leaf2 300\n".write(toFile: dir + "/after.folded", atomically: true, encoding: .utf8)
        for (name, after) in [("self", "before"), ("grew", "after")] {
            let r = try Tool.ember(["flamegraph", "--diff", dir + "/before.folded", dir + "/\(after).folded", "-o", dir + "/\(name).svg"])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let fills = "Array.from(new Set(Array.from(document.querySelectorAll('#frames > g > rect')).map(function (r) { return getComputedStyle(r).fill; }))).length"
        XCTAssertEqual(try browse(dir + "/self.svg", [["eval": fills]]).first as? Int, 1, "a self-diff is one colour")
        let fillOf: (String) -> String = { name in
            "getComputedStyle(Array.from(document.querySelectorAll('#frames > g')).find(function (g) { return g.children[0].textContent.indexOf('\(name) (') === 0; }).children[1]).fill"
        }
        let values = try browse(dir + "/grew.svg", [
            ["eval": fillOf("leaf2")], ["eval": fillOf("b")], ["eval": fillOf("main")],
            ["mouse": "move", "at": frameCentre("leaf2")],
            ["eval": "document.getElementById('details').textContent"],
        ])
        XCTAssertEqual(values.count, 4, "\(values)")
        guard values.count == 4 else { return }
        XCTAssertEqual(values[0] as? String, "rgb(255, 0, 0)", "the leaf that grew is red")
        XCTAssertEqual(values[1] as? String, "rgb(255, 255, 255)", "its caller, unchanged itself, is neutral")
        XCTAssertEqual(values[2] as? String, "rgb(255, 255, 255)")
        let details = values[3] as? String ?? ""
        XCTAssertTrue(details.contains("75.00%") && details.contains("before") && details.contains("50.00%") && details.contains("+25.00 points"), details)
    }

    /// The latency heat map: hovering a cell names its time range, latency range and count; dragging across the
    /// map selects a time range and shows the `ember latency --time` command for it, which then reads that range.
    func testHeatmapHoverAndSelection() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let sleeper = try Tool.compileC(source: Tool.packageRoot.appendingPathComponent("Tests/Programs/sleeper.c").path, name: "sleeper", flags: ["-O2", "-g"])
        let data = dir + "/lat.data", heat = dir + "/heat.svg"
        let r = try Tool.ember(["latency", "--offcpu", "--json", "--heatmap", heat, "-o", data, "--", sleeper, dir + "/durations.txt"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertNotNil(try Regex(": [0-9]+ waits over 0\\.[0-9]+ s</text>").firstMatch(in: try String(contentsOfFile: heat, encoding: .utf8)), "the title says how many waits over how long")
        let plot = "(function () { var c = Array.from(document.querySelectorAll('rect > title')).map(function (t) { return t.parentNode.getBoundingClientRect(); });"
            + " var l = Math.min.apply(null, c.map(function (r) { return r.left; })), rr = Math.max.apply(null, c.map(function (r) { return r.right; }));"
            + " var t = Math.min.apply(null, c.map(function (r) { return r.top; })), b = Math.max.apply(null, c.map(function (r) { return r.bottom; }));"
        let values = try browse(heat, [
            ["eval": "(function () { var r = document.querySelector('rect > title').parentNode.getBoundingClientRect(); var e = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2); return e.querySelector('title').textContent; })()"],
            ["mouse": "down", "at": plot + " return [l + (rr - l) * 0.2, (t + b) / 2]; })()"],
            ["mouse": "move", "at": plot + " return [l + (rr - l) * 0.5, (t + b) / 2]; })()"],
            ["mouse": "up", "at": plot + " return [l + (rr - l) * 0.8, (t + b) / 2]; })()"],
            ["eval": "document.getElementById('command').textContent"],
            ["eval": "document.getElementById('selection').getAttribute('visibility')"],
        ])
        XCTAssertEqual(values.count, 3, "\(values)")
        guard values.count == 3 else { return }
        let hovered = values[0] as? String ?? ""
        XCTAssertNotNil(try Regex("^[0-9.]+-[0-9.]+ s, [0-9]+ [µm]?s-[0-9]+ [µm]?s: [0-9]+ waits?$").wholeMatch(in: hovered), hovered)
        let command = values[1] as? String ?? ""
        XCTAssertTrue(command.hasPrefix("ember latency -i \(data) --time "), command)
        XCTAssertEqual(values[2] as? String, "visible")
        // The command reads the selected range: fewer waits than the whole, and some.
        let arguments = Array(command.split(separator: " ").dropFirst().map(String.init))
        let whole = try Tool.ember(["latency", "-i", data, "--offcpu", "--json"])
        let part = try Tool.ember(arguments + ["--offcpu", "--json"])
        XCTAssertEqual(part.status, 0, part.stderr)
        func offCPUCount(_ json: String) -> Int {
            let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any]
            let rows = (object?["rows"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "offcpu" && $0["tid"] is NSNull }
            return rows.compactMap { $0["count"] as? Int }.reduce(0, +)
        }
        let all = offCPUCount(whole.stdout), some = offCPUCount(part.stdout)
        XCTAssertGreaterThan(some, 0, part.stdout)
        XCTAssertLessThan(some, all, "the selection (the middle 60%) reads part of the recording: \(some) of \(all)")
    }

    /// FlameScope's view (`flamegraph --heatmap`): a program that spends its first second in phase_a and its next
    /// in phase_b; selecting the first column's slices draws phase_a's flame graph, the second's phase_b's, and a
    /// click on a frame zooms it to the full width.
    func testFlameScopeSelection() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let phases = try Tool.compileC(source: Tool.packageRoot.appendingPathComponent("Tests/Programs/phases.c").path, name: "phases",
                                       flags: ["-O2", "-g", "-fno-omit-frame-pointer"])
        let rec = try Tool.ember(["record", "-q", "-g", "-F", Tool.rate(999), "-o", dir + "/phases.data", "--", phases, "1", "1"])
        XCTAssertEqual(rec.status, 0, rec.stderr)
        let page = dir + "/scope.html"
        let r = try Tool.ember(["flamegraph", "--heatmap", "-i", dir + "/phases.data", "-o", page])
        XCTAssertEqual(r.status, 0, r.stderr)
        func cell(_ i: Int) -> String {
            "(function () { var r = document.querySelector('#map rect[data-i=\"\(i)\"]').getBoundingClientRect(); return [r.x + 2, r.y + 2]; })()"
        }
        let phaseShares = "Array.from(document.querySelectorAll('#flame g > title')).map(function (t) { return t.textContent; }).filter(function (t) { return /^phase_[ab] /.test(t); }).join('|')"
        let values = try browse(page, [
            ["eval": "document.querySelector('#map rect[data-i=\"3\"] > title').textContent"],
            ["mouse": "down", "at": cell(0)], ["mouse": "move", "at": cell(25)], ["mouse": "up", "at": cell(49)],
            ["eval": "document.getElementById('range').textContent"],
            ["eval": phaseShares],
            ["mouse": "down", "at": cell(50)], ["mouse": "up", "at": cell(99)],
            ["eval": phaseShares],
            ["mouse": "click", "at": "(function () { var g = Array.from(document.querySelectorAll('#flame g')).find(function (g) { return /^phase_b /.test(g.firstChild.textContent); }); var r = g.querySelector('rect').getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"],
            ["eval": "Number(Array.from(document.querySelectorAll('#flame g')).find(function (g) { return /^phase_b /.test(g.firstChild.textContent); }).querySelector('rect').getAttribute('width'))"],
        ])
        XCTAssertEqual(values.count, 5, "\(values)")
        guard values.count == 5 else { return }
        XCTAssertNotNil(try Regex("^0 s \\+ 60-80 ms: [0-9]+ samples?$").wholeMatch(in: values[0] as? String ?? ""), "\(values[0])")
        XCTAssertTrue((values[1] as? String ?? "").hasPrefix("From "), "\(values[1])")
        func share(_ text: Any, _ phase: String) -> Double {
            let part = (text as? String ?? "").split(separator: "|").first { $0.hasPrefix(phase + " ") } ?? ""
            return Double(part.split(separator: ",").last?.split(separator: "%").first?.trimmingCharacters(in: .whitespaces) ?? "") ?? 0
        }
        XCTAssertGreaterThanOrEqual(share(values[2], "phase_a"), 90, "the first second is phase_a's: \(values[2])")
        XCTAssertLessThanOrEqual(share(values[2], "phase_b"), 10, "\(values[2])")
        XCTAssertGreaterThanOrEqual(share(values[3], "phase_b"), 90, "the second second is phase_b's: \(values[3])")
        XCTAssertEqual(values[4] as? Double ?? 0, 1199.5, accuracy: 1, "a clicked frame fills the width")
    }

    /// The flame chart of a DWARF recording: hovering a frame gives its times, a click zooms the time axis to it
    /// (its ticks redrawn from its start), a search measures the matches' share of the sampled time, and Escape
    /// puts the whole run back.
    func testFlameChartTimesAndZoom() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let phases = try Tool.compileC(source: Tool.packageRoot.appendingPathComponent("Tests/Programs/phases.c").path, name: "phases",
                                       flags: ["-O1", "-g"])
        let rec = try Tool.ember(["record", "-q", "--call-graph", "dwarf", "-F", Tool.rate(999), "-o", dir + "/phases.data", "--", phases, "0.3", "0.3"])
        XCTAssertEqual(rec.status, 0, rec.stderr)
        let svg = dir + "/chart.svg"
        let r = try Tool.ember(["flamegraph", "--flamechart", "-i", dir + "/phases.data", "-o", svg])
        XCTAssertEqual(r.status, 0, r.stderr)
        let firstTick = "Number(document.querySelector('#axis text').textContent.replace(' s', ''))"
        let full = "(function () { var s = document.querySelector('svg'); return Number(s.getAttribute('width')) - 20; })()"
        let values = try browse(svg, [
            ["mouse": "move", "at": frameCentre("phase_b")],
            ["eval": "document.getElementById('details').textContent"],
            ["mouse": "click", "at": frameCentre("phase_b")],
            ["eval": frameWidth("phase_b")],
            ["eval": full],
            ["eval": firstTick],
            ["eval": "document.querySelectorAll('#axis text').length"],
            ["answer": "^phase_a$"],
            ["key": "F3"],
            ["eval": "document.getElementById('matched').textContent"],
            ["key": "Escape"],
            ["eval": firstTick],
            ["eval": "document.getElementById('unzoom').classList.contains('hide')"],
        ])
        XCTAssertEqual(values.count, 8, "\(values)")
        guard values.count == 8 else { return }
        let details = values[0] as? String ?? ""
        XCTAssertNotNil(try Regex("^Function: phase_b \\([0-9]+ samples, [0-9.]+ ms, from 0\\.[2-5][0-9]{5} s to 0\\.[3-6][0-9]{5} s; phases [0-9]+/[0-9]+\\)$").wholeMatch(in: details), details)
        XCTAssertEqual(values[1] as? Double ?? 0, values[2] as? Double ?? -1, accuracy: 1, "phase_b fills the width")
        XCTAssertGreaterThanOrEqual(values[3] as? Double ?? 0, 0.25, "the axis starts near phase_b's start")
        XCTAssertGreaterThanOrEqual(values[4] as? Int ?? 0, 2, "ticks across the zoomed range")
        let matched = values[5] as? String ?? ""
        XCTAssertTrue(matched.hasPrefix("Matched: "), matched)
        XCTAssertEqual(Double(matched.dropFirst(9).dropLast()) ?? 0, 50, accuracy: 10, "phase_a is half the run: \(matched)")
        XCTAssertEqual(values[6] as? Double, 0, "Escape puts the axis back at 0")
        XCTAssertEqual(values[7] as? Bool, true)
    }
}
