import Foundation
import XCTest

/// Examples/ProfiledService, a Hummingbird service that mounts EmberProfiler behind its own /debug/pprof/profile:
/// go tool pprof fetches it while the slow endpoint is busy, and finds the slow function, named as Swift names it.
final class ExampleTests: XCTestCase {
    func testServiceProfilesItself() throws {
        try requireRoot()
        try requireGo()
        guard let binary = ProcessInfo.processInfo.environment["EMBER_EXAMPLE"], FileManager.default.isExecutableFile(atPath: binary) else {
            throw XCTSkip("EMBER_EXAMPLE names no built example: run `make example` and set it, as `make test` does")
        }
        let port = 20000 + Int(getpid() % 12000) + 3
        let service = Process()
        service.executableURL = URL(fileURLWithPath: binary)
        service.arguments = ["\(port)"]
        service.standardOutput = FileHandle.nullDevice
        service.standardError = FileHandle.nullDevice
        try service.run()
        defer { service.terminate(); service.waitUntilExit() }
        let base = "http://127.0.0.1:\(port)"
        for _ in 0..<100 where try Tool.run("/usr/bin/curl", ["-sf", base + "/hello"]).stdout != "hello\n" {
            Thread.sleep(forTimeInterval: 0.1)
        }
        // Keep the slow endpoint busy while the profile records.
        let load = Process()
        load.executableURL = URL(fileURLWithPath: "/bin/sh")
        load.arguments = ["-c", "for i in $(seq 100); do curl -s -o /dev/null \(base)/primes; done"]
        try load.run()
        defer { load.terminate(); load.waitUntilExit() }
        let traces = try Tool.run("/usr/bin/go", ["tool", "pprof", "-traces", base + "/debug/pprof/profile?seconds=2"])
        XCTAssertEqual(traces.status, 0, traces.stderr)
        XCTAssertTrue(traces.stdout.contains("countPrimes(below:)"), String(traces.stdout.prefix(3000)))
        XCTAssertEqual(try Tool.run("/usr/bin/curl", ["-s", base + "/hello"]).stdout, "hello\n", "the service goes on")
        let refused = try Tool.run("/usr/bin/curl", ["-s", "-w", " %{http_code}", base + "/debug/pprof/profile?seconds=0"])
        XCTAssertTrue(refused.stdout.hasSuffix(" 400"), refused.stdout)
    }
}
