import Foundation
import XCTest

/// `ember export --format otlp`, decoded by OpenTelemetry's own Python classes (PyPI's opentelemetry-proto, in the
/// venv `make deps` makes) and checked by `Tests/OTLP/check_otlp.py` (the dictionary's zero values, every index in
/// bounds), then compared with `perf script` (sample count, leaf symbols) and `ember collapse` (leaf weights).
final class OTLPTests: XCTestCase {
    private func decoded(_ file: String, json: Bool = false) throws -> OTLPCheck.Summary {
        try OTLPCheck.decoded(file, json: json)
    }

    func testExportDecodesAndAgreesWithPerfAndCollapse() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let binary = try Tool.compileC(source: Tool.packageRoot.appendingPathComponent("Tests/Programs/inline.c").path, name: "inline",
                                       flags: ["-O2", "-g", "-fno-omit-frame-pointer"])
        let file = dir + "/inline.data"
        let rec = try Tool.ember(["record", "-q", "-g", "-F", Tool.rate(999), "-o", file, "--", binary])
        XCTAssertEqual(rec.status, 0, rec.stderr)
        let pb = dir + "/profiles.otlp.pb", json = dir + "/profiles.otlp.json"
        var r = try Tool.ember(["export", "--format", "otlp", "-i", file, "-o", pb])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try Tool.ember(["export", "--format", "otlp", "--json", "--service-name", "inline-demo", "-i", file, "-o", json])
        XCTAssertEqual(r.status, 0, r.stderr)
        let binaryForm = try decoded(pb), jsonForm = try decoded(json, json: true)

        // Every sample perf script sees, once.
        let script = try Tool.perf(["script", "-i", file, "-F", "tid,time"])
        XCTAssertEqual(script.status, 0, script.stderr)
        let perfSamples = script.stdout.split(separator: "\n").count
        XCTAssertEqual(binaryForm.samples, perfSamples)
        XCTAssertEqual(jsonForm.samples, perfSamples)
        XCTAssertEqual(binaryForm.leaves, jsonForm.leaves, "the JSON form says what the binary one does")

        // The resource names the process; the profile is CPU time.
        let resource = try XCTUnwrap(jsonForm.resources.first { $0.attributes["process.executable.name"]?["stringValue"] == "inline" })
        XCTAssertEqual(resource.attributes["service.name"]?["stringValue"], "inline-demo")
        XCTAssertNotNil(resource.attributes["process.pid"]?["intValue"])
        XCTAssertNotNil(resource.attributes["host.name"]?["stringValue"])
        XCTAssertEqual(resource.profiles.map(\.type), ["cpu/nanoseconds"])

        // Inlined functions are lines of one location: the leaf symbol (perf's name for the address) is `outer`,
        // the leaf function the inlined `leaf` or `middle`.
        XCTAssertGreaterThan(binaryForm.inlinedLocations, 0)
        // perf script -F ip,sym: each sample's frames (`ADDRESS SYMBOL`), leaf first, then an empty line.
        let perfLeaves = try Tool.perf(["script", "-i", file, "-F", "ip,sym", "--no-inline"]).stdout
        var perfCounts: [String: Int] = [:]
        var expectLeaf = true
        for line in perfLeaves.split(separator: "\n", omittingEmptySubsequences: false) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.isEmpty { expectLeaf = true; continue }
            if expectLeaf {
                perfCounts[fields.count > 1 ? String(fields[1].split(separator: "+").first ?? "") : "[unknown]", default: 0] += 1
                expectLeaf = false
            }
        }
        let perfTop = try XCTUnwrap(perfCounts.max { $0.value < $1.value })
        XCTAssertEqual(perfTop.key, "outer", "\(perfCounts)")
        XCTAssertEqual(Double(binaryForm.symbols["cpu/nanoseconds outer"] ?? 0), Double(perfTop.value), accuracy: Double(perfTop.value) * 0.001,
                       "\(binaryForm.symbols) \(perfCounts)")

        // Leaf functions weigh what `ember collapse` gives them (its inlined frames marked _[i]).
        let collapse = try Tool.ember(["collapse", "-i", file])
        XCTAssertEqual(collapse.status, 0, collapse.stderr)
        var folded: [String: Double] = [:]
        for line in collapse.stdout.split(separator: "\n") {
            guard let space = line.lastIndex(of: " "), let weight = Double(line[line.index(after: space)...]) else { continue }
            var leaf = String(line[..<space].split(separator: ";").last ?? "")
            for mark in ["_[i]", "_[k]", "_[j]"] where leaf.hasSuffix(mark) { leaf.removeLast(mark.count) }
            folded[leaf.hasPrefix("[") ? "[unknown]" : leaf, default: 0] += weight
        }
        for (leaf, weight) in folded.sorted(by: { $0.value > $1.value }).prefix(3) {
            let exported = binaryForm.leaves["cpu/nanoseconds " + leaf] ?? 0
            XCTAssertEqual(exported, weight, accuracy: weight * 0.001, "\(leaf): \(binaryForm.leaves)")
        }
    }
}
