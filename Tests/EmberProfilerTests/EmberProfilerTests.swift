import EmberProfiler
import Foundation
import XCTest

/// A Swift program profiling itself: the test process records itself while one of its threads spins in a known
/// function, and finds that function in every form the profile comes in.
final class EmberProfilerTests: XCTestCase {
    @inline(never) static func emberProfilerTestSpin(until end: Date) -> Int {
        var x = 0
        while Date() < end { x = x &* 31 &+ 7 }
        return x
    }

    /// Async code whose awaiting callers the profile shows (not the executor's frames).
    @inline(never) static func asyncLeafSpin(until end: Date) -> Int { emberProfilerTestSpin(until: end) }

    @inline(never) static func asyncInner(until end: Date) async -> Int {
        await Task.yield()
        return asyncLeafSpin(until: end)
    }

    @inline(never) static func asyncOuter(until end: Date) async -> Int {
        await Task.yield()
        return await asyncInner(until: end) &+ 1
    }

    func testProfileOfThisProcess() async throws {
        guard getuid() == 0 else { throw XCTSkip("profiling needs root (or a low kernel.perf_event_paranoid); CI runs as root") }
        // Long enough for both recordings and what is read from the first under a loaded machine (make test).
        let end = Date().addingTimeInterval(6)
        let spinner = Thread { _ = EmberProfilerTests.emberProfilerTestSpin(until: end) }
        spinner.start()
        let asyncSpinner = Task.detached { await EmberProfilerTests.asyncOuter(until: end) }
        defer { asyncSpinner.cancel() }
        let profile = try await EmberProfiler.record(seconds: 0.5, frequency: 499)
        let folded = try profile.folded()
        let spinning = folded.split(separator: "\n").filter { $0.contains("emberProfilerTestSpin") }
        XCTAssertFalse(spinning.isEmpty, String(folded.prefix(2000)))
        // Swift async stacks: most of the async leaf's samples reach its awaiting callers, in order.
        var leaf = 0, chained = 0
        for line in spinning where line.contains("asyncLeafSpin") {
            let weight = Int(line.split(separator: " ").last ?? "") ?? 0
            leaf += weight
            if line.contains("asyncOuter(until:);static EmberProfilerTests.asyncInner(until:);static EmberProfilerTests.asyncLeafSpin") { chained += weight }
        }
        XCTAssertGreaterThan(leaf, 50, String(folded.prefix(2000)))
        XCTAssertGreaterThanOrEqual(Double(chained), 0.9 * Double(leaf), spinning.filter { $0.contains("asyncLeafSpin") }.joined(separator: "\n"))
        let svg = try profile.flameGraphSVG(title: "self")
        XCTAssertTrue(svg.contains(">self</text>") && svg.contains("emberProfilerTestSpin"))
        let pprof = try profile.pprof()
        XCTAssertEqual(Array(pprof.prefix(2)), [0x1f, 0x8b], "gzip-compressed")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ember-profiler-test-\(getpid()).data").path
        defer { unlink(path) }
        try profile.write(perfData: path)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)).prefix(8), Data("PERFILE2".utf8))

        // DWARF stacks: the same function, unwound through CFI.
        let dwarf = try await EmberProfiler.record(seconds: 0.3, frequency: 199, callGraph: .dwarf)
        let dwarfFolded = try dwarf.folded()
        XCTAssertTrue(dwarfFolded.contains("emberProfilerTestSpin"), "spinner ended: \(Date() >= end)\n" + String(dwarfFolded.prefix(2000)))
    }

    func testBadArguments() async {
        do {
            _ = try await EmberProfiler.record(seconds: 0)
            XCTFail("0 seconds")
        } catch let error as EmberProfilerError {
            XCTAssertEqual(error, .badArgument("seconds must be more than 0 (got 0.0)"))
        } catch {
            XCTFail("\(error)")
        }
    }
}
