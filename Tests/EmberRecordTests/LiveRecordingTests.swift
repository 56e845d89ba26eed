import EmberPerfData
import EmberRecord
import EmberReplay
import Foundation
import XCTest

/// The live seam `ember top` reads through: a recording streamed, not written, into a replay that carries its
/// processes and symbols from one reading to the next.
final class LiveRecordingTests: XCTestCase {
    @inline(never) static func liveRecordingSpin(until end: Date) -> Int {
        var x = 0
        // Time is looked at rarely, so that the samples land in this function and not in the clock's.
        while Date() < end { for _ in 0..<1_000_000 { x = x &* 31 &+ 7 } }
        return x
    }

    func testRecordsStreamIntoAReplayReadingAfterReading() throws {
        guard getuid() == 0 else { throw XCTSkip("recording needs root (or a low kernel.perf_event_paranoid); CI runs as root") }
        let spinner = Thread {
            // Named as the kernel knows it (/proc/thread-self/comm), so the recording carries the name.
            try? "live-spinner".write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
            _ = LiveRecordingTests.liveRecordingSpin(until: Date().addingTimeInterval(3))
        }
        spinner.start()
        Thread.sleep(forTimeInterval: 0.05)
        var options = RecordOptions(target: .processes([getpid()]))
        options.ownsSignals = false
        options.progress = false
        options.duration = 1.2
        options.callGraph = .framePointer
        var replay: Replay?
        // Per reading: samples, and the spinning thread's samples, and those of them named.
        var readings: [(samples: Int, spinner: Int, named: Int)] = []
        var frames: [ResolvedFrame] = []
        let summary = try Recorder(options: options).stream(every: 0.25) { records in
            let r = replay ?? Replay(live: records)
            replay = r
            var samples = 0, spinner = 0, named = 0
            r.forEachSample(event: nil) { sample, _ in
                samples += 1
                guard r.model.comm(tid: sample.tid) == "live-spinner" else { return }
                spinner += 1
                r.resolver.frames(of: sample, into: &frames)
                if frames.contains(where: { $0.symbol?.name.contains("liveRecordingSpin") == true }) { named += 1 }
            }
            readings.append((samples, spinner, named))
        }
        XCTAssertGreaterThanOrEqual(readings.count, 4, "a reading every 0.25 s of 1.2 s, and one at the end")
        XCTAssertEqual(readings.map(\.samples).reduce(0, +), Int(summary.samples), "every sample drained is read once")
        XCTAssertGreaterThan(readings.filter { $0.named > 0 }.count, 2, "samples come reading after reading: \(readings)")
        let spun = readings.map(\.spinner).reduce(0, +)
        XCTAssertGreaterThan(spun, 200, "the spinning thread was sampled: \(readings)")
        XCTAssertGreaterThan(readings.map(\.named).reduce(0, +) * 2, spun, "and most of its stacks pass through the spinning function (a leaf in the Swift runtime, which keeps no frame pointer, hides it from a quarter to a third of them, the more under load): \(readings)")
    }
}
