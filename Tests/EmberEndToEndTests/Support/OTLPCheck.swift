import Foundation
import XCTest

/// `Tests/OTLP/check_otlp.py` run on an OTLP request Ember wrote or sent: OpenTelemetry's own Python classes
/// (PyPI's opentelemetry-proto, in the venv `make deps` makes) decode it and check the dictionary's rules.
enum OTLPCheck {
    struct Summary: Decodable {
        struct Resource: Decodable {
            struct Profile: Decodable {
                var type: String
                var samples: Int
            }
            var attributes: [String: [String: String]]
            var profiles: [Profile]
        }
        var samples: Int
        var resources: [Resource]
        var leaves: [String: Double]
        var symbols: [String: Int]
        var inlinedLocations: Int
        var errors: [String]
    }

    static var python: String {
        ProcessInfo.processInfo.environment["EMBER_OTEL_PYTHON"] ?? Tool.packageRoot.appendingPathComponent(".build/otel-venv/bin/python").path
    }

    /// Whether the decoder is installed (a venv whose pip failed has Python without it).
    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: python)
            && (try? Tool.run(python, ["-c", "import opentelemetry.proto.collector.profiles.v1development"]))?.status == 0
    }

    /// The checker's summary of `file`, its rules kept; skips when OpenTelemetry's Python classes are not installed.
    static func decoded(_ file: String, json: Bool = false) throws -> Summary {
        try XCTSkipUnless(available, "needs opentelemetry-proto for Python (make deps makes .build/otel-venv)")
        let script = Tool.packageRoot.appendingPathComponent("Tests/OTLP/check_otlp.py").path
        let r = try Tool.run(python, [script, file] + (json ? ["--json"] : []))
        let summary = try JSONDecoder().decode(Summary.self, from: Data(r.stdout.utf8))
        XCTAssertEqual(r.status, 0, "\(summary.errors) \(r.stderr)")
        return summary
    }
}
