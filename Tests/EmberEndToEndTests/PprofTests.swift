import Foundation
import XCTest

/// `ember pprof` output, decoded by independent readers: protoc with Ember's profile.proto, and `go tool pprof`.
final class PprofTests: XCTestCase {
    func testProfileDecodesWithFunctionsSamplesAndBuildIDs() throws {
        try requireRoot()
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/protoc"), "needs protoc (protobuf-compiler; make deps)")
        let dir = try Tool.scratchDirectory()
        let demo = try Tool.demo()
        let file = dir + "/p.data"
        XCTAssertEqual(try Tool.ember(["record", "-g", "-q", "-o", file, "--", demo, "0.5"]).status, 0)
        let gz = dir + "/profile.pb.gz"
        let r = try Tool.ember(["pprof", "-i", file, "-o", gz])
        XCTAssertEqual(r.status, 0, r.stderr)
        let raw = try Tool.run("/bin/sh", ["-c", "gzip -dc '\(gz)' > '\(dir)/profile.pb'"])
        XCTAssertEqual(raw.status, 0, "a gzip stream: \(raw.stderr)")
        let decoded = try Tool.run("/bin/sh", ["-c", "protoc --decode=perftools.profiles.Profile --proto_path='\(Tool.packageRoot.path)/Sources/EmberPprof' profile.proto < '\(dir)/profile.pb'"])
        XCTAssertEqual(decoded.status, 0, decoded.stderr)
        let text = decoded.stdout

        let strings = text.split(separator: "\n").filter { $0.hasPrefix("string_table: ") }.map {
            String($0.dropFirst("string_table: \"".count).dropLast())
        }
        XCTAssertEqual(strings.first, "", "string 0 is empty")
        func string(_ index: Int) -> String { index < strings.count ? strings[index] : "<bad \(index)>" }
        XCTAssertTrue(strings.contains("samples") && strings.contains("cpu") && strings.contains("nanoseconds"))

        let samples = text.components(separatedBy: "\nsample {").count - 1
        let scripted = try Tool.ember(["script", "-i", file]).stdout.components(separatedBy: " cpu-clock: ").count - 1
        XCTAssertEqual(samples, scripted, "one pprof sample per recorded sample")

        // Functions: spin_primes, with its file and the line it starts at.
        let functions = blocks(text, "function")
        let spin = try XCTUnwrap(functions.first { string($0["name"] ?? -1) == "spin_primes" })
        XCTAssertTrue(string(spin["filename"] ?? -1).hasSuffix("demo.c"))
        XCTAssertGreaterThan(spin["start_line"] ?? 0, 0)

        // Mappings carry build-ids: the demo's matches the one readelf reports.
        let notes = try Tool.run("/usr/bin/readelf", ["-n", demo]).stdout
        let buildID = try XCTUnwrap(notes.split(separator: "\n").first { $0.contains("Build ID:") }?.split(separator: " ").last.map(String.init))
        let mappings = blocks(text, "mapping")
        let demoMapping = try XCTUnwrap(mappings.first { string($0["filename"] ?? -1) == demo })
        XCTAssertEqual(string(demoMapping["build_id"] ?? -1), buildID)
    }

    /// `go tool pprof` on the demo's profile: mapping 1 is the demo (`File: demo`), every location lies inside its
    /// mapping, whose start, limit and offset are the process's, the time is when the samples began, plain C
    /// functions are their own system names, and `-top` puts spin_primes (40% of the demo's time) first.
    func testGoPprofSeesTheDemoFirstRealMappingsAndTheStartTime() throws {
        try requireRoot()
        try requireGo()
        let dir = try Tool.scratchDirectory()
        let demo = try Tool.demo()
        let file = dir + "/p.data", gz = dir + "/profile.pb.gz"
        let before = Date()
        XCTAssertEqual(try Tool.ember(["record", "-g", "-q", "-o", file, "--", demo, "0.5"]).status, 0)
        let after = Date()
        let r = try Tool.ember(["pprof", "-i", file, "-o", gz])
        XCTAssertEqual(r.status, 0, r.stderr)
        let raw = GoPprofRaw(try goPprof("-raw", gz))

        let main = try XCTUnwrap(raw.mappings[1], "mapping 1")
        XCTAssertEqual(main.file, demo, "the main executable is mapping 1")
        XCTAssertGreaterThan(main.start, 0)
        assertLocationsInsideMappings(raw)
        // The demo's code is its executable segment, mapped from the page of the offset readelf gives it.
        let headers = try Tool.run("/usr/bin/readelf", ["-lW", demo]).stdout.split(separator: "\n")
        let text = try XCTUnwrap(headers.first { $0.contains("LOAD") && $0.contains("R E") }, "an executable PT_LOAD")
        let textOffset = try XCTUnwrap(UInt64(text.split(separator: " ")[1].dropFirst(2), radix: 16))
        XCTAssertEqual(main.offset, textOffset & ~0xfff, "the file offset of the demo's mapping")
        XCTAssertTrue(raw.mappings.values.contains { $0.file.hasSuffix("/libc.so.6") && $0.start > 0 && $0.offset > 0 })

        // No HEADER_CLOCK_DATA in an Ember recording: the time is the file's modification time less the samples'
        // span, which started after `before` and, the demo running 0.5 s, at least 0.3 s before `after`.
        let time = try XCTUnwrap(raw.timeNanos, "a Time: line")
        XCTAssertGreaterThanOrEqual(time, nanoseconds(before) - 50_000_000)
        XCTAssertLessThanOrEqual(time, nanoseconds(after) - 300_000_000)

        let spin = raw.locations.flatMap(\.lines).filter { $0.hasPrefix("spin_primes ") }
        XCTAssertFalse(spin.isEmpty)
        XCTAssertTrue(spin.allSatisfy { $0.range(of: #" s=\d+$"#, options: .regularExpression) != nil }, "no system name apart from the name: \(spin)")

        let top = try goPprof("-top", gz)
        XCTAssertTrue(top.hasPrefix("File: demo\n"), top)
        XCTAssertEqual(topFunctions(top).first, "spin_primes", top)
    }

    /// A C++ program whose first samples land in the dynamic loader: pprof still names the program (`File:`), and
    /// its method's system name is the mangled symbol while its name is demangled.
    func testGoPprofNamesTheProgramAndShowsMangledSystemNames() throws {
        try requireRoot()
        try requireGo()
        let dir = try Tool.scratchDirectory()
        let binary = dir + "/widget"
        let cc = try Tool.run("/usr/bin/g++", ["-O2", "-g", "-o", binary, Tool.packageRoot.path + "/Tests/Programs/widget.cpp"])
        try XCTSkipIf(cc.status != 0, "g++ failed: \(cc.stderr)")
        let file = dir + "/widget.data", gz = dir + "/widget.pb.gz"
        XCTAssertEqual(try Tool.ember(["record", "-g", "-q", "-o", file, "--", binary]).status, 0)
        let r = try Tool.ember(["pprof", "-i", file, "-o", gz])
        XCTAssertEqual(r.status, 0, r.stderr)

        let raw = GoPprofRaw(try goPprof("-raw", gz))
        XCTAssertEqual(raw.mappings[1]?.file, binary, "mapping 1 is the program, not ld-linux-x86-64.so.2")
        assertLocationsInsideMappings(raw)
        let spin = raw.locations.flatMap(\.lines).filter { $0.hasPrefix("shapes::Widget::spin") }
        XCTAssertFalse(spin.isEmpty, raw.text)
        XCTAssertTrue(spin.allSatisfy { $0.hasSuffix("(_ZN6shapes6Widget4spinEi)") }, "the mangled symbol as system name: \(spin)")

        let top = try goPprof("-top", gz)
        XCTAssertTrue(top.hasPrefix("File: widget\n"), top)
        XCTAssertTrue(topFunctions(top).first?.hasPrefix("shapes::Widget::spin") == true, top)
    }

    /// `perf record -k mono` writes HEADER_CLOCK_DATA; the profile's time then is the first sample's time of day
    /// exactly, as `perf script -F tod` prints it (to the microsecond).
    func testTimeComesFromPerfClockData() throws {
        try requireRoot()
        try requirePerf()
        try requireGo()
        let dir = try Tool.scratchDirectory()
        let demo = try Tool.demo()
        let file = dir + "/perf.data", gz = dir + "/perf.pb.gz"
        let rec = try Tool.perf(["record", "-q", "-k", "mono", "-F", Tool.rate(999), "-g", "-o", file, "--", demo, "0.3"])
        XCTAssertEqual(rec.status, 0, rec.stderr)
        let r = try Tool.ember(["pprof", "-i", file, "-o", gz])
        XCTAssertEqual(r.status, 0, r.stderr)
        let time = try XCTUnwrap(GoPprofRaw(try goPprof("-raw", gz)).timeNanos, "a Time: line")

        let script = try Tool.run("/usr/bin/env", ["TZ=UTC", "/usr/bin/perf", "script", "-i", file, "-F", "tod"])
        XCTAssertEqual(script.status, 0, script.stderr)
        let firstTod = try XCTUnwrap(script.stdout.split(separator: "\n").first { $0.first?.isNumber == true })
        let tod = try XCTUnwrap(GoPprofRaw.nanoseconds(String(firstTod).trimmingCharacters(in: .whitespaces)), String(firstTod))
        XCTAssertEqual(time / 1000, tod / 1000, "pprof's time \(time), perf script's \(firstTod)")
    }

    /// A recording piped into `ember pprof` has no file to date: its stream ends when the recording does, so the
    /// profile's time is that less the samples' span.
    func testTimeOfAPipedRecordingIsWhenItsSamplesBegan() throws {
        try requireRoot()
        try requireGo()
        let dir = try Tool.scratchDirectory()
        let demo = try Tool.demo()
        let gz = dir + "/pipe.pb.gz"
        let before = Date()
        let r = try Tool.run("/bin/sh", ["-c", "'\(Tool.emberPath)' record -g -q -o - -- '\(demo)' 0.5 | '\(Tool.emberPath)' pprof -i - -o '\(gz)'"])
        let after = Date()
        XCTAssertEqual(r.status, 0, r.stderr)
        let time = try XCTUnwrap(GoPprofRaw(try goPprof("-raw", gz)).timeNanos, "a Time: line")
        XCTAssertGreaterThanOrEqual(time, nanoseconds(before) - 50_000_000)
        XCTAssertLessThanOrEqual(time, nanoseconds(after) - 300_000_000)
    }

    /// `go tool pprof` with `arguments`, its times in UTC.
    private func goPprof(_ arguments: String...) throws -> String {
        let r = try Tool.run("/usr/bin/env", ["TZ=UTC", "/usr/bin/go", "tool", "pprof"] + arguments)
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.stdout
    }

    /// Most locations have a mapping, and each lies inside its own.
    private func assertLocationsInsideMappings(_ raw: GoPprofRaw, file: StaticString = #filePath, line: UInt = #line) {
        let mapped = raw.locations.filter { $0.mapping != nil }
        XCTAssertGreaterThan(mapped.count, raw.locations.count / 2, "locations with a mapping", file: file, line: line)
        let outside = mapped.filter { location in
            guard let m = raw.mappings[location.mapping ?? 0] else { return true }
            return location.address < m.start || location.address >= m.limit
        }
        let first = outside.first.map { String($0.address, radix: 16) } ?? ""
        XCTAssertTrue(outside.isEmpty, "\(outside.count) of \(mapped.count) locations outside their mappings, first 0x\(first):\n\(raw.text)",
                      file: file, line: line)
    }

    /// The function of each row of `-top`, heaviest first.
    private func topFunctions(_ text: String) -> [String] {
        let lines = text.split(separator: "\n")
        guard let header = lines.firstIndex(where: { $0.contains("flat%") }) else { return [] }
        return lines[(header + 1)...].map { $0.split(separator: " ").dropFirst(5).joined(separator: " ") }
    }

    private func nanoseconds(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970 * 1e9) }

    /// The integer fields of each top-level `name { ... }` block of protoc's text output.
    private func blocks(_ text: String, _ name: String) -> [[String: Int]] {
        var out: [[String: Int]] = []
        var current: [String: Int]?
        for line in text.split(separator: "\n") {
            if line == "\(name) {" { current = [:]; continue }
            if line == "}" { if let c = current { out.append(c) }; current = nil; continue }
            guard current != nil, line.hasPrefix("  "), !line.hasPrefix("    ") else { continue }
            let parts = line.trimmingCharacters(in: .whitespaces).split(separator: ":", maxSplits: 1)
            if parts.count == 2, let v = Int(parts[1].trimmingCharacters(in: .whitespaces)) { current?[String(parts[0])] = v }
        }
        return out
    }
}

/// What `go tool pprof -raw` prints of a profile: its time, its locations with their mappings, and the mappings.
private struct GoPprofRaw {
    struct Mapping {
        var start: UInt64
        var limit: UInt64
        var offset: UInt64
        var file: String
    }

    struct Location {
        var address: UInt64
        var mapping: Int?
        /// `name file:line s=startline`, then `(system name)` when it differs from the name; inlined functions first.
        var lines: [String]
    }

    let text: String
    /// The `Time:` line, in nanoseconds since the epoch.
    var timeNanos: Int64?
    var locations: [Location] = []
    var mappings: [Int: Mapping] = [:]

    init(_ text: String) {
        self.text = text
        var section = ""
        for line in text.split(separator: "\n").map(String.init) {
            if line.hasPrefix("Time: ") { timeNanos = GoPprofRaw.nanoseconds(String(line.dropFirst(6))) }
            if ["Samples:", "Locations", "Mappings"].contains(line) { section = line; continue }
            let fields = line.split(separator: " ")
            if section == "Locations" {
                if fields.count >= 2, fields[0].hasSuffix(":"), fields[1].hasPrefix("0x"), let address = UInt64(fields[1].dropFirst(2), radix: 16) {
                    let mapping = fields.count > 2 && fields[2].hasPrefix("M=") ? Int(fields[2].dropFirst(2)) : nil
                    let rest = fields.dropFirst(mapping == nil ? 2 : 3).joined(separator: " ")
                    locations.append(Location(address: address, mapping: mapping, lines: rest.isEmpty ? [] : [rest]))
                } else if !locations.isEmpty {
                    locations[locations.count - 1].lines.append(line.trimmingCharacters(in: .whitespaces))
                }
            } else if section == "Mappings", fields.count >= 3, let id = Int(fields[0].dropLast()) {
                let range = fields[1].split(separator: "/").compactMap { UInt64($0.dropFirst(2), radix: 16) }
                guard range.count == 3 else { continue }
                mappings[id] = Mapping(start: range[0], limit: range[1], offset: range[2], file: String(fields[2]))
            }
        }
    }

    /// `2026-01-02 03:04:05.123456789` (any fraction, any suffix such as ` +0000 UTC`), read as UTC.
    static func nanoseconds(_ text: String) -> Int64? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        guard text.count >= 19, let date = formatter.date(from: String(text.prefix(19))) else { return nil }
        var fraction = text.dropFirst(19).hasPrefix(".") ? String(text.dropFirst(20).prefix { $0.isNumber }) : ""
        fraction = String((fraction + "000000000").prefix(9))
        return Int64(date.timeIntervalSince1970) * 1_000_000_000 + (Int64(fraction) ?? 0)
    }
}
