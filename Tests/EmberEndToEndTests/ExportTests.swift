import Foundation
import XCTest

/// `ember export`: profiles for speedscope and the Firefox Profiler, checked against the formats' published
/// descriptions and against `ember collapse` on the same recording.
final class ExportTests: XCTestCase {
    private func recording() throws -> (file: String, dir: String) {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/r.data"
        let r = try Tool.ember(["record", "-q", "-g", "-F", Tool.rate(999), "-o", file, "--", "/bin/sh", "-c", "\(try Tool.demo()) 0.3 & \(try Tool.demo()) 0.2; wait"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return (file, dir)
    }

    /// The leaf functions and their weights, from `ember collapse` (its `_[k]`/`_[i]` marks dropped).
    private func collapsedLeaves(_ file: String) throws -> [String: UInt64] {
        var leaves: [String: UInt64] = [:]
        for (stack, weight) in parseFolded(try Tool.ember(["collapse", "-i", file]).stdout) {
            var leaf = String(stack.split(separator: ";").last ?? "")
            for mark in ["_[k]", "_[i]"] where leaf.hasSuffix(mark) { leaf.removeLast(mark.count) }
            leaves[leaf, default: 0] += weight
        }
        return leaves
    }

    /// speedscope's file format (https://www.speedscope.app/file-format-schema.json): the schema URL, a shared
    /// frame table of {name, file?, line?}, one sampled profile a thread with a unit from the schema's list,
    /// stacks of indices into the frames (outermost first) and one weight a stack, endValue the sum of the
    /// weights. The leaves weigh what collapse gives them.
    func testSpeedscope() throws {
        let (file, dir) = try recording()
        let out = dir + "/p.speedscope.json"
        let r = try Tool.ember(["export", "--format", "speedscope", "-i", file, "-o", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any])
        XCTAssertEqual(root["$schema"] as? String, "https://www.speedscope.app/file-format-schema.json")
        XCTAssertTrue((root["exporter"] as? String)?.hasPrefix("ember ") == true)
        let frames = try XCTUnwrap((root["shared"] as? [String: Any])?["frames"] as? [[String: Any]])
        XCTAssertFalse(frames.isEmpty)
        for frame in frames {
            XCTAssertNotNil(frame["name"] as? String)
            XCTAssertTrue(Set(frame.keys).isSubset(of: ["name", "file", "line", "col"]), "\(frame)")
            if let line = frame["line"] { XCTAssertNotNil(line as? Int) }
        }
        let profiles = try XCTUnwrap(root["profiles"] as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(profiles.count, 2, "a profile a thread: the shell's demos")
        var leaves: [String: UInt64] = [:]
        for profile in profiles {
            XCTAssertEqual(profile["type"] as? String, "sampled")
            XCTAssertNotNil(profile["name"] as? String)
            XCTAssertTrue(["none", "nanoseconds", "microseconds", "milliseconds", "seconds", "bytes"].contains(profile["unit"] as? String ?? ""))
            XCTAssertEqual(profile["unit"] as? String, "nanoseconds", "cpu-clock weighs in nanoseconds")
            let samples = try XCTUnwrap(profile["samples"] as? [[Int]])
            let weights = try XCTUnwrap(profile["weights"] as? [UInt64])
            XCTAssertEqual(samples.count, weights.count)
            XCTAssertEqual(profile["startValue"] as? Int, 0)
            XCTAssertEqual(profile["endValue"] as? UInt64, weights.reduce(0, +))
            for (stack, weight) in zip(samples, weights) {
                XCTAssertTrue(stack.allSatisfy { $0 >= 0 && $0 < frames.count })
                if let leaf = stack.last { leaves[frames[leaf]["name"] as! String, default: 0] += weight }
            }
        }
        let expected = try collapsedLeaves(file)
        // Unresolved frames are named differently ([libc.so.6] in collapse, [unknown] with its binary here).
        XCTAssertEqual(leaves.filter { !$0.key.hasPrefix("[") }, expected.filter { !$0.key.hasPrefix("[") })
    }
}
