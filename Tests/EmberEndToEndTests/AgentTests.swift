import Foundation
import XCTest

/// `ember agent`: profiles over HTTP, fetched with real clients (curl, go tool pprof) while a known workload runs.
final class AgentTests: XCTestCase {
    private func startAgent(_ arguments: [String]) throws -> (Process, Int) {
        let port = 20000 + Int(getpid() % 20000)
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: Tool.emberPath)
        agent.arguments = ["agent", "--listen", "127.0.0.1:\(port)"] + arguments
        agent.standardOutput = FileHandle.nullDevice
        agent.standardError = FileHandle.nullDevice
        try agent.run()
        for _ in 0..<100 where try Tool.run("/usr/bin/curl", ["-sf", "http://127.0.0.1:\(port)/healthz"]).stdout != "ok\n" {
            Thread.sleep(forTimeInterval: 0.1)
        }
        return (agent, port)
    }

    private func curl(_ arguments: [String]) throws -> Tool.Result { try Tool.run("/usr/bin/curl", ["-s"] + arguments) }

    /// go tool pprof fetches the endpoint as it fetches a Go program's, and finds the demo's hot functions.
    func testProfileEndpoint() throws {
        try requireRoot()
        try requireGo()
        let (agent, port) = try startAgent(["-a", "-F", "199"])
        defer { agent.terminate(); agent.waitUntilExit() }
        let demo = Process()
        demo.executableURL = URL(fileURLWithPath: try Tool.demo())
        demo.arguments = ["4"]
        demo.standardOutput = FileHandle.nullDevice
        try demo.run()
        defer { demo.terminate(); demo.waitUntilExit() }
        let url = "http://127.0.0.1:\(port)/debug/pprof/profile?seconds=1"
        let headers = try curl(["-D", "-", "-o", "/dev/null", url]).stdout.lowercased()
        XCTAssertTrue(headers.hasPrefix("http/1.1 200") && headers.contains("content-type: application/octet-stream"), headers)
        let raw = try Tool.run("/usr/bin/go", ["tool", "pprof", "-raw", url])
        XCTAssertEqual(raw.status, 0, raw.stderr)
        XCTAssertTrue(raw.stdout.contains("spin_primes"), String(raw.stdout.prefix(2000)))

        // Two requests at once share one recording.
        let before = try curl(["http://127.0.0.1:\(port)/metrics"]).stdout
        let served = { (text: String) in text.split(separator: "\n").first { $0.hasPrefix("ember_agent_profiles_served_total ") }.flatMap { Int($0.split(separator: " ")[1]) } ?? -1 }
        let both = try Tool.run("/bin/sh", ["-c", "curl -s -o /dev/null -w '%{http_code} ' '\(url)' & curl -s -o /dev/null -w '%{http_code} ' '\(url)'; wait"])
        XCTAssertEqual(both.stdout, "200 200 ")
        XCTAssertEqual(served(try curl(["http://127.0.0.1:\(port)/metrics"]).stdout), served(before) + 1, "one recording for both")
    }

    /// Bad queries and unknown paths get a 4xx with the reason; a remote address needs --allow-remote.
    func testRefusals() throws {
        try requireRoot()
        let (agent, port) = try startAgent(["-a", "--max-seconds", "5"])
        defer { agent.terminate(); agent.waitUntilExit() }
        for (query, status, reason) in [("seconds=abc", "400", "not 'abc'"), ("seconds=10", "400", "--max-seconds 5"), ("seconds=-1", "400", "more than 0")] {
            let r = try curl(["-w", " %{http_code}", "http://127.0.0.1:\(port)/debug/pprof/profile?\(query)"])
            XCTAssertTrue(r.stdout.hasSuffix(" " + status) && r.stdout.contains(reason), "\(query): \(r.stdout)")
        }
        XCTAssertEqual(try curl(["-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/nope"]).stdout, "404")
        let remote = try Tool.ember(["agent", "--listen", "0.0.0.0:\(port + 1)"])
        XCTAssertEqual(remote.status, 1)
        XCTAssertTrue(remote.stderr.contains("add --allow-remote"), remote.stderr)
    }
}
