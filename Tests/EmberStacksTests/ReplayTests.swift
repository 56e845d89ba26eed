import EmberPerfData
@testable import EmberReplay
@testable import EmberStacks
import Foundation
import XCTest

/// Reading recordings without a kernel: events told apart by id, lost records counted, return addresses looked
/// up inside their call, and malformed files that never crash the reader.
final class ReplayTests: XCTestCase {
    func testEventsByIDAndLostRecords() throws {
        let path = RecordingFixture.temporaryPath()
        defer { unlink(path) }
        try RecordingFixture.write(to: path)
        let replay = try Replay(path: path)
        XCTAssertEqual(replay.events.map(\.name), ["first", "second"])
        var perEvent = [0, 0]
        replay.forEachSample(event: nil) { _, index in perEvent[index] += 1 }
        XCTAssertEqual(perEvent, [15, 5])
        XCTAssertEqual(replay.lostRecords, 7)
        XCTAssertTrue(replay.warnings.contains { $0.hasPrefix("7 events were lost") }, "\(replay.warnings)")

        var collapser = Collapser()
        collapser.eventName = "second"
        collapser.countSamples = true
        let folded = try collapser.collapse(try Replay(path: path))
        XCTAssertEqual(folded.weights.values.reduce(0, +), 5)
        XCTAssertEqual(Set(folded.weights.keys), ["prog;[prog];[prog]"], "an unreadable binary shows as its name")
        collapser.eventName = "third"
        XCTAssertThrowsError(try collapser.collapse(try Replay(path: path)))
    }

    /// Random byte flips and cuts of a valid recording: the reader may warn or refuse, but never crashes or hangs.
    func testMalformedRecordingsNeverCrash() throws {
        let path = RecordingFixture.temporaryPath()
        let mutated = RecordingFixture.temporaryPath()
        defer { unlink(path); unlink(mutated) }
        try RecordingFixture.write(to: path)
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        var rng = SplitMix64(seed: 0x5eed)
        for round in 0..<2000 {
            var bytes = [UInt8](original)
            if round % 5 == 4 {
                // A huge u64 where a size, offset or count may stand.
                let at = Int(rng.next() % UInt64(bytes.count / 8)) * 8
                for i in at..<min(at + 8, bytes.count) { bytes[i] = 0xff }
            } else if round % 4 == 3 {
                bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count))))
            } else {
                for _ in 0..<(1 + Int(rng.next() % 8)) {
                    let at = Int(rng.next() % UInt64(bytes.count))
                    bytes[at] = round % 2 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : 0xff
                }
            }
            try Data(bytes).write(to: URL(fileURLWithPath: mutated))
            guard let replay = try? Replay(path: mutated) else { continue }
            _ = try? Collapser().collapse(replay)
        }
    }
}

/// A small deterministic generator, so a failing mutation can be replayed.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
