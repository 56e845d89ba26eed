import Foundation
import XCTest

/// `ember pprof` output, decoded by an independent reader: protoc with Ember's profile.proto.
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
