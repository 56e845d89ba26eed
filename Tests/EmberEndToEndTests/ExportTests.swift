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

    /// The Firefox Profiler's processed format (preprocessedProfileVersion 49, as samply 0.13 writes it),
    /// gzip-compressed: the tables each thread needs, every column as long as its table, every reference within
    /// its table (a stack's prefix before it), categories with grey "Other" first, sample times in order, and
    /// tracepoint hits as markers. The leaves count what collapse --count counts.
    func testFirefoxProfiler() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/f.data", out = dir + "/p.json.gz"
        let rec = try Tool.ember(["record", "-q", "-g", "-e", "cpu-clock", "-e", "sched:sched_switch", "-o", file, "--", "/bin/sh", "-c", "\(try Tool.demo()) 0.3; sleep 0.05"])
        XCTAssertEqual(rec.status, 0, rec.stderr)
        let r = try Tool.ember(["export", "--format", "firefox", "-i", file, "-o", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let compressed = try Data(contentsOf: URL(fileURLWithPath: out))
        XCTAssertEqual(Array(compressed.prefix(3)), [0x1f, 0x8b, 0x08], "gzip")
        let json = try Tool.run("/bin/gzip", ["-dc", out]).stdout
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let meta = try XCTUnwrap(root["meta"] as? [String: Any])
        XCTAssertEqual(meta["preprocessedProfileVersion"] as? Int, 49)
        for key in ["version", "interval", "startTime", "processType", "product", "markerSchema", "categories"] { XCTAssertNotNil(meta[key], key) }
        let categories = try XCTUnwrap(meta["categories"] as? [[String: Any]])
        XCTAssertEqual(categories.first?["color"] as? String, "grey")
        XCTAssertTrue(categories.allSatisfy { ($0["subcategories"] as? [String])?.isEmpty == false })
        let schemas = try XCTUnwrap(meta["markerSchema"] as? [[String: Any]]).compactMap { $0["name"] as? String }
        let libs = try XCTUnwrap(root["libs"] as? [[String: Any]])
        for lib in libs { for key in ["name", "path", "debugName", "debugPath", "breakpadId", "codeId", "arch"] { XCTAssertTrue(lib.keys.contains(key), key) } }
        let threads = try XCTUnwrap(root["threads"] as? [[String: Any]])
        XCTAssertFalse(threads.isEmpty)
        var leaves: [String: UInt64] = [:]
        var markers = 0
        for thread in threads {
            XCTAssertNotNil(thread["pid"] as? String, "pid is a string")
            for key in ["processType", "processName", "name", "isMainThread", "tid", "registerTime", "pausedRanges"] { XCTAssertTrue(thread.keys.contains(key), key) }
            let strings = try XCTUnwrap(thread["stringArray"] as? [String])
            func table(_ name: String, _ columns: [String]) throws -> (length: Int, columns: [String: [Any]]) {
                let t = try XCTUnwrap(thread[name] as? [String: Any], name)
                let length = try XCTUnwrap(t["length"] as? Int)
                var out: [String: [Any]] = [:]
                for c in columns {
                    let column = try XCTUnwrap(t[c] as? [Any], "\(name).\(c)")
                    XCTAssertEqual(column.count, length, "\(name).\(c)")
                    out[c] = column
                }
                return (length, out)
            }
            func ints(_ column: [Any]?) -> [Int?] { (column ?? []).map { $0 as? Int } }
            let samples = try table("samples", ["stack", "time"])
            let stacks = try table("stackTable", ["frame", "prefix", "category", "subcategory"])
            let frames = try table("frameTable", ["address", "inlineDepth", "category", "subcategory", "func", "nativeSymbol", "innerWindowID", "implementation", "line", "column"])
            let funcs = try table("funcTable", ["name", "isJS", "relevantForJS", "resource", "fileName", "lineNumber", "columnNumber"])
            let resources = try table("resourceTable", ["lib", "name", "host", "type"])
            let marks = try table("markers", ["data", "name", "startTime", "endTime", "phase", "category"])
            _ = try table("nativeSymbols", ["libIndex", "address", "name", "functionSize"])
            for (i, s) in ints(samples.columns["stack"]).enumerated() { if let s { XCTAssertTrue(s < stacks.length, "sample \(i)") } }
            let times = (samples.columns["time"] ?? []).compactMap { ($0 as? NSNumber)?.doubleValue }
            XCTAssertEqual(times, times.sorted(), "sample times in order")
            for (i, (f, p)) in zip(ints(stacks.columns["frame"]), ints(stacks.columns["prefix"])).enumerated() {
                XCTAssertTrue((f ?? -1) >= 0 && f! < frames.length)
                if let p { XCTAssertLessThan(p, i, "a prefix comes before its stack") }
            }
            XCTAssertTrue(ints(stacks.columns["category"]).allSatisfy { ($0 ?? -1) >= 0 && $0! < categories.count })
            XCTAssertTrue(ints(frames.columns["func"]).allSatisfy { ($0 ?? -1) >= 0 && $0! < funcs.length })
            XCTAssertTrue(ints(funcs.columns["name"]).allSatisfy { ($0 ?? -1) >= 0 && $0! < strings.count })
            XCTAssertTrue(ints(funcs.columns["resource"]).allSatisfy { $0 == -1 || ($0 ?? -2) >= 0 && $0! < resources.length })
            XCTAssertTrue(ints(resources.columns["lib"]).allSatisfy { ($0 ?? -1) >= 0 && $0! < libs.count })
            XCTAssertTrue(ints(marks.columns["name"]).allSatisfy { ($0 ?? -1) >= 0 && $0! < strings.count })
            for payload in marks.columns["data"] ?? [] {
                let data = try XCTUnwrap(payload as? [String: Any])
                XCTAssertTrue(schemas.contains(data["type"] as? String ?? ""), "a payload names a schema")
                let fields = try XCTUnwrap(data["fields"] as? Int)
                XCTAssertTrue(strings[fields].contains("prev_comm="), strings[fields])
            }
            markers += marks.length
            // The leaf of each sample: its stack's frame's function's name.
            let stackFrames = ints(stacks.columns["frame"]), frameFuncs = ints(frames.columns["func"]), funcNames = ints(funcs.columns["name"])
            for s in ints(samples.columns["stack"]).compactMap({ $0 }) {
                leaves[strings[funcNames[frameFuncs[stackFrames[s]!]!]!], default: 0] += 1
            }
        }
        XCTAssertGreaterThan(markers, 0, "sched_switch hits as markers")
        var expected: [String: UInt64] = [:]
        for (stack, weight) in parseFolded(try Tool.ember(["collapse", "--count", "-i", file]).stdout) {
            var leaf = String(stack.split(separator: ";").last ?? "")
            for mark in ["_[k]", "_[i]"] where leaf.hasSuffix(mark) { leaf.removeLast(mark.count) }
            expected[leaf, default: 0] += weight
        }
        XCTAssertEqual(leaves.filter { !$0.key.hasPrefix("[") }, expected.filter { !$0.key.hasPrefix("[") })
    }

    /// An unknown format is refused with the ones there are.
    func testUnknownFormat() throws {
        let r = try Tool.ember(["export", "--format", "chrome", "-i", "x.data"])
        XCTAssertEqual(r.status, 64)
        XCTAssertTrue(r.stderr.contains("speedscope") && r.stderr.contains("firefox"), r.stderr)
    }
}
