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

    /// Call chains folded once are not folded again, but a chain whose addresses come to mean something else (a new
    /// mapping over them) or whose thread is renamed folds anew.
    func testRepeatedChainsFollowMappingsAndNames() throws {
        let path = RecordingFixture.temporaryPath()
        defer { unlink(path) }
        let a = RecordingFixture.attr()
        let writer = try PerfDataWriter(path: path)
        try writer.begin(events: [.init(attr: a, ids: [1], name: "first")])
        let enc = RecordEncoder(attr: a, id: 1)
        var time: UInt64 = 100
        // The encoder's records carry time 0 in their trailer: each gets the time it is written at.
        func timed(_ record: [UInt8]) -> [UInt8] {
            var bytes = record
            let at = bytes.count - enc.layout.trailerTimeFromEnd!
            for i in 0..<8 { bytes[at + i] = UInt8(truncatingIfNeeded: time >> (8 * UInt64(i))) }
            time += 1
            return bytes
        }
        func map(_ name: String) throws {
            try writer.append(timed(enc.mmap2(MmapRecord(pid: 5, tid: 5, start: 0x400000, length: 0x1000, pageOffset: 0,
                                                   protection: 5, flags: 2, device: nil, inode: 0, filename: "/nonexistent/" + name))))
        }
        func samples(_ n: Int) throws {
            for _ in 0..<n {
                try writer.append(RecordingFixture.sample(id: 1, pid: 5, time: time, chain: [CallchainContext.user, 0x400100, 0x400200]))
                time += 1
            }
        }
        try writer.append(enc.comm(pid: 5, tid: 5, name: "prog"))
        try map("a")
        try samples(3)
        try map("b")
        try samples(2)
        try writer.append(timed(enc.comm(pid: 5, tid: 5, name: "renamed")))
        try samples(1)
        try writer.appendFinishedRound()
        try writer.finish(features: [(.eventDesc, writer.eventDescription())])
        var collapser = Collapser()
        collapser.countSamples = true
        let folded = try collapser.collapse(try Replay(path: path))
        XCTAssertEqual(folded.weights, ["prog;[a];[a]": 3, "prog;[b];[b]": 2, "renamed;[b];[b]": 1])
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
