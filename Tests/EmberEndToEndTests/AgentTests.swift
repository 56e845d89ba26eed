import Foundation
import XCTest

/// `ember agent`: profiles over HTTP, fetched with real clients (curl, go tool pprof) while a known workload runs.
final class AgentTests: XCTestCase {
    /// Below Linux's ephemeral ports (32768 on), which clients' connections take.
    private var port: Int { 20000 + Int(getpid() % 12000) }

    /// The agent on a loopback port, once it answers /healthz; its stderr goes to `stderr` (a file) when given, and
    /// is the failure's message when it does not come up.
    /// `openFiles`: the agent runs under `ulimit -n` of that many (through a shell that execs it, so that the pid is
    /// the agent's).
    private func startAgent(_ arguments: [String], stderr: String? = nil, openFiles: Int? = nil) throws -> (Process, Int) {
        let port = self.port
        let log = try stderr ?? (Tool.scratchDirectory() + "/agent.err")
        let agent = Process()
        let command = [Tool.emberPath, "agent", "--listen", "127.0.0.1:\(port)"] + arguments
        if let openFiles {
            agent.executableURL = URL(fileURLWithPath: "/bin/sh")
            agent.arguments = ["-c", "ulimit -n \(openFiles) && exec \"$0\" \"$@\""] + command
        } else {
            agent.executableURL = URL(fileURLWithPath: command[0])
            agent.arguments = Array(command.dropFirst())
        }
        agent.standardOutput = FileHandle.nullDevice
        FileManager.default.createFile(atPath: log, contents: nil)
        agent.standardError = FileHandle(forWritingAtPath: log)
        try agent.run()
        for _ in 0..<100 where try agent.isRunning && Tool.run("/usr/bin/curl", ["-sf", "http://127.0.0.1:\(port)/healthz"]).stdout != "ok\n" {
            Thread.sleep(forTimeInterval: 0.1)
        }
        guard agent.isRunning else {
            throw AgentDidNotStart(log: (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
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
        let (served, recordings) = (try metric("ember_agent_profiles_served_total", port: port), try metric("ember_agent_recordings_total", port: port))
        let both = try Tool.run("/bin/sh", ["-c", "curl -s -o /dev/null -w '%{http_code} ' '\(url)' & curl -s -o /dev/null -w '%{http_code} ' '\(url)'; wait"])
        XCTAssertEqual(both.stdout, "200 200 ")
        XCTAssertEqual(try metric("ember_agent_profiles_served_total", port: port), served + 2)
        XCTAssertEqual(try metric("ember_agent_recordings_total", port: port), recordings + 1, "one recording for both")
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
        for method in ["POST", "PUT", "DELETE"] {
            XCTAssertEqual(try curl(["-X", method, "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/debug/pprof/profile"]).stdout, "405")
        }
        // Clients that leave mid-request do not hurt it.
        for _ in 0..<3 { _ = try curl(["--max-time", "0.3", "http://127.0.0.1:\(port)/debug/pprof/profile?seconds=1"]) }
        Thread.sleep(forTimeInterval: 1)
        XCTAssertEqual(try curl(["http://127.0.0.1:\(port)/healthz"]).stdout, "ok\n")
        XCTAssertTrue(agent.isRunning)
        let remote = try Tool.ember(["agent", "--listen", "0.0.0.0:\(port + 1)"])
        XCTAssertEqual(remote.status, 1)
        XCTAssertTrue(remote.stderr.contains("add --allow-remote"), remote.stderr)
    }

    /// "serving" only once the address is bound; a port in use is said in one line that names the address and the
    /// cause; [::1] is taken as an address; --allow-remote says who can then read the profiles.
    func testListeningIsSaidOnlyOnceBound() throws {
        try requireRoot()
        let log = try Tool.scratchDirectory() + "/first.err"
        let (agent, port) = try startAgent(["-a"], stderr: log)
        defer { agent.terminate(); agent.waitUntilExit() }
        XCTAssertTrue(try String(contentsOfFile: log, encoding: .utf8).contains("agent: serving http://127.0.0.1:\(port)/"))
        let taken = try Tool.ember(["agent", "-a", "--listen", "127.0.0.1:\(port)"], timeout: 60)
        XCTAssertEqual(taken.status, 1, taken.stderr)
        XCTAssertFalse(taken.stderr.contains("serving"), taken.stderr)
        XCTAssertTrue(taken.stderr.contains("ember: error: agent: cannot listen on 127.0.0.1:\(port): address already in use"), taken.stderr)
        XCTAssertEqual(taken.stderr.split(separator: "\n").filter { $0.hasPrefix("ember: error") }.count, 1, taken.stderr)
        // [::1]: the brackets set the address apart from the port (a machine without IPv6 loopback skips this).
        let six = Process()
        six.executableURL = URL(fileURLWithPath: Tool.emberPath)
        six.arguments = ["agent", "-a", "--listen", "[::1]:\(port + 2)"]
        six.standardOutput = FileHandle.nullDevice
        six.standardError = FileHandle.nullDevice
        try six.run()
        var answer = ""
        for _ in 0..<50 where answer != "ok\n" && six.isRunning {
            Thread.sleep(forTimeInterval: 0.1)
            answer = try curl(["-g", "http://[::1]:\(port + 2)/healthz"]).stdout
        }
        if six.isRunning { XCTAssertEqual(answer, "ok\n", "the agent answers on [::1]") }
        six.terminate()
        six.waitUntilExit()
        let remote = try Tool.ember(["agent", "-a", "--allow-remote", "--listen", "127.0.0.1:\(port)"], timeout: 60)
        XCTAssertTrue(remote.stderr.contains("can read this machine's profiles") == false, "a loopback address warns of nothing")
        let open = try Tool.ember(["agent", "-a", "--allow-remote", "--listen", "0.0.0.0:\(port)"], timeout: 60)
        XCTAssertTrue(open.stderr.contains("ember: warning: agent: anyone who can reach 0.0.0.0:\(port) can read this machine's profiles"), open.stderr)
    }

    private func startDemo(_ seconds: String = "6") throws -> Process {
        let demo = Process()
        demo.executableURL = URL(fileURLWithPath: try Tool.demo())
        demo.arguments = [seconds]
        demo.standardOutput = FileHandle.nullDevice
        try demo.run()
        return demo
    }

    private func metric(_ name: String, port: Int) throws -> Double {
        let text = try curl(["http://127.0.0.1:\(port)/metrics"]).stdout
        return text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) } ?? -1
    }

    /// --continuous keeps a window open: a request for 5 s is answered at once from the newest samples, not after
    /// recording 5 s, and the window's rings show in /metrics.
    func testContinuousWindow() throws {
        try requireRoot()
        try requireGo()
        let (agent, port) = try startAgent(["-a", "--continuous", "--max-seconds", "10"])
        defer { agent.terminate(); agent.waitUntilExit() }
        XCTAssertGreaterThan(try metric("ember_agent_ring_bytes", port: port), 0, "the window's rings are mapped")
        let demo = try startDemo()
        defer { demo.terminate(); demo.waitUntilExit() }
        Thread.sleep(forTimeInterval: 3)
        let url = "http://127.0.0.1:\(port)/debug/pprof/profile?seconds=5"
        let started = Date()
        let raw = try Tool.run("/usr/bin/go", ["tool", "pprof", "-raw", url])
        XCTAssertLessThan(Date().timeIntervalSince(started), 4, "answered from the window, not by recording 5 s")
        XCTAssertEqual(raw.status, 0, raw.stderr)
        XCTAssertTrue(raw.stdout.contains("spin_primes"), String(raw.stdout.prefix(2000)))
    }

    /// --comm keeps only the processes of that name, though the recording covers every CPU.
    func testCommFilter() throws {
        try requireRoot()
        try requireGo()
        let (agent, port) = try startAgent(["--comm", "demo", "-F", "199"])
        defer { agent.terminate(); agent.waitUntilExit() }
        let demo = try startDemo()
        defer { demo.terminate(); demo.waitUntilExit() }
        let busy = Process()
        busy.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        busy.arguments = ["-c", "import time\nend = time.time() + 6\nwhile time.time() < end: pass"]
        try busy.run()
        defer { busy.terminate(); busy.waitUntilExit() }
        let tags = try Tool.run("/usr/bin/go", ["tool", "pprof", "-tags", "http://127.0.0.1:\(port)/debug/pprof/profile?seconds=1"])
        XCTAssertEqual(tags.status, 0, tags.stderr)
        let comms = tags.stdout.components(separatedBy: " pid:")[0]
        XCTAssertTrue(comms.contains(": demo"), tags.stdout)
        XCTAssertFalse(comms.contains("python3"), "python3 ran beside it and is not demo: \(tags.stdout)")
    }

    /// /debug/pprof/offcpu: the stacks a thread blocked in, weighted by the time it stayed off the CPU; a thread
    /// that sleeps in 10 ms naps spends nearly all of a 2 s window in clock_nanosleep.
    func testOffCPUEndpoint() throws {
        try requireRoot()
        try requireGo()
        let (agent, port) = try startAgent(["--comm", "python3"])
        defer { agent.terminate(); agent.waitUntilExit() }
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        sleeper.arguments = ["-c", "import time\nwhile True: time.sleep(0.01)"]
        try sleeper.run()
        defer { sleeper.terminate(); sleeper.waitUntilExit() }
        let top = try Tool.run("/usr/bin/go", ["tool", "pprof", "-top", "-unit", "ms", "http://127.0.0.1:\(port)/debug/pprof/offcpu?seconds=2"])
        XCTAssertEqual(top.status, 0, top.stderr)
        XCTAssertTrue(top.stdout.contains("Type: offcpu"), top.stdout)
        XCTAssertTrue(top.stdout.contains("clock_nanosleep"), top.stdout)
        let total = top.stdout.range(of: #"Total samples = ([0-9.]+)ms"#, options: .regularExpression).map { match in
            Double(top.stdout[match].dropFirst("Total samples = ".count).dropLast(2)) ?? 0
        } ?? 0
        XCTAssertTrue((1500...2100).contains(total), "off-CPU ms in a 2 s window: \(top.stdout)")
    }

    /// /debug/pprof/heap: a heap profile of a process started with the shim, over the request's seconds; what the
    /// fixture kept is in use, what it freed is not.
    func testHeapEndpoint() throws {
        try requireRoot()
        try requireGo()
        let shim = try HeapTests.shim()
        let program = try Tool.compileC(source: Tool.packageRoot.appendingPathComponent("Tests/Programs/heapsites.c").path,
                                        name: "heapsites", flags: ["-O1", "-g", "-fno-omit-frame-pointer", "-fno-builtin"])
        // Held stopped until the request's window has begun (the agent takes a while to come up).
        let target = Process()
        target.executableURL = URL(fileURLWithPath: program)
        target.arguments = ["500", "5000"]
        target.environment = ["LD_PRELOAD": shim, "EMBER_HEAP_RATE": "16384"]
        try target.run()
        // Once the loader has mapped the shim, and before the first allocation (half a second later).
        let maps = "/proc/\(target.processIdentifier)/maps"
        for _ in 0..<200 where (try? String(contentsOfFile: maps, encoding: .utf8))?.contains("libember-heap.so") != true {
            Thread.sleep(forTimeInterval: 0.002)
        }
        kill(target.processIdentifier, SIGSTOP)
        defer { target.terminate(); kill(target.processIdentifier, SIGCONT); target.waitUntilExit() }
        let (agent, port) = try startAgent(["-p", String(target.processIdentifier)])
        let fetch = Process()
        fetch.executableURL = URL(fileURLWithPath: "/usr/bin/go")
        fetch.arguments = ["tool", "pprof", "-top", "-nodefraction=0", "-unit=B", "http://127.0.0.1:\(port)/debug/pprof/heap?seconds=3"]
        let output = Pipe()
        fetch.standardOutput = output
        fetch.standardError = output
        try fetch.run()
        Thread.sleep(forTimeInterval: 1)
        kill(target.processIdentifier, SIGCONT)
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        fetch.waitUntilExit()
        XCTAssertEqual(fetch.terminationStatus, 0)
        XCTAssertTrue(text.contains("Type: inuse_space"), text)
        func cum(_ name: String) -> Double? {
            text.split(separator: "\n").first { $0.hasSuffix(" " + name) }
                .flatMap { $0.split(separator: " ").dropFirst(3).first }.flatMap { Double($0.filter(\.isNumber)) }
        }
        XCTAssertLessThan(abs((cum("keep_4k") ?? 0) / (40 * 1048576) - 1), 0.1, text)
        XCTAssertLessThan(abs((cum("keep_64k") ?? 0) / (10 * 1048576) - 1), 0.1, text)
        // The window may end between a sampled churn block's malloc and its free: a sample or two (16 KiB each).
        XCTAssertLessThan(cum("churn_1k") ?? 0, 64 * 1024, "freed blocks are not in use: \(text)")
        agent.terminate()
        agent.waitUntilExit()
        // A process without the shim (this one): the reason, not a profile.
        let (bare, barePort) = try startAgent(["-p", String(getpid())])
        defer { bare.terminate(); bare.waitUntilExit() }
        let refused = try curl(["http://127.0.0.1:\(barePort)/debug/pprof/heap?seconds=1"])
        XCTAssertTrue(refused.stdout.contains("LD_PRELOAD="), refused.stdout)
    }

    /// A small Pyroscope (and OTLP collector) stand-in on loopback: it keeps each request's line, Content-Type, all its
    /// headers and its body in `directory`, and answers `status` (with a line of reason when it is not 200).
    private func startReceiver(port: Int, directory: String, status: Int = 200) throws -> Process {
        let script = """
            import http.server, sys, os
            class H(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
                    n = len([f for f in os.listdir(sys.argv[2]) if f.endswith('.body')])
                    open('%s/%d.line' % (sys.argv[2], n), 'w').write(self.requestline + '\\n' + self.headers.get('Content-Type', '') + '\\n' + str(self.headers))
                    open('%s/%d.body' % (sys.argv[2], n), 'wb').write(body)
                    reason = b'' if int(sys.argv[3]) == 200 else b'profile too large\\n'
                    self.send_response(int(sys.argv[3]))
                    self.send_header('Content-Length', str(len(reason)))
                    self.end_headers()
                    self.wfile.write(reason)
                def log_message(self, *args): pass
            http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
            """
        let receiver = Process()
        receiver.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        receiver.arguments = ["-c", script, "\(port)", directory, "\(status)"]
        try receiver.run()
        return receiver
    }

    private func bodies(in directory: String) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".body") }.count
    }

    /// --push sends each interval's window to Pyroscope's /ingest: the request line, the query (name with the labels,
    /// from, until, format) and a multipart body whose `profile` part decodes as pprof with the demo in it.
    func testPush() throws {
        try requireRoot()
        try requireGo()
        let directory = try Tool.scratchDirectory()
        let receiver = try startReceiver(port: port + 1, directory: directory)
        defer { receiver.terminate(); receiver.waitUntilExit() }
        let demo = try startDemo()
        defer { demo.terminate(); demo.waitUntilExit() }
        let (agent, _) = try startAgent(["--comm", "demo", "--push", "http://127.0.0.1:\(port + 1)", "--app", "checkout.cpu",
                                         "--label", "env=test", "--interval", "1s"])
        defer { agent.terminate(); agent.waitUntilExit() }
        for _ in 0..<50 where bodies(in: directory) < 2 { Thread.sleep(forTimeInterval: 0.1) }
        XCTAssertGreaterThanOrEqual(bodies(in: directory), 2)

        func request(_ n: Int) throws -> (line: String, contentType: String, query: [String: String]) {
            let lines = try String(contentsOfFile: directory + "/\(n).line", encoding: .utf8).split(separator: "\n").map(String.init)
            let target = try XCTUnwrap(URLComponents(string: String(lines[0].split(separator: " ")[1])))
            XCTAssertEqual(target.path, "/ingest")
            return (lines[0], lines[1], Dictionary(uniqueKeysWithValues: (target.queryItems ?? []).map { ($0.name, $0.value ?? "") }))
        }
        let (first, second) = (try request(0), try request(1))
        XCTAssertTrue(second.line.hasPrefix("POST /ingest?") && second.line.hasSuffix(" HTTP/1.1"), second.line)
        let query = second.query
        XCTAssertEqual(query["name"], "checkout.cpu{host=\(ProcessInfo.processInfo.hostName),comm=demo,env=test}")
        XCTAssertEqual(query["format"], "pprof")
        XCTAssertEqual(query["sampleRate"], "99")
        // Whole seconds, rounded outward; each window starts where the last one ended.
        let span = { (q: [String: String]) in (Int(q["from"] ?? "") ?? 0, Int(q["until"] ?? "") ?? 0) }
        let ((from0, until0), (from, until)) = (span(first.query), span(query))
        XCTAssertTrue(from >= from0 && from <= until0 && until > until0 && until - from <= 3, "consecutive windows: \(from0)-\(until0), \(from)-\(until)")
        XCTAssertLessThan(abs(Double(until) - Date().timeIntervalSince1970), 10)

        // The multipart body's `profile` part is the pprof.
        let contentType = second.contentType
        let boundary = try XCTUnwrap(contentType.components(separatedBy: "boundary=").last)
        XCTAssertTrue(contentType.hasPrefix("multipart/form-data"), contentType)
        let body = try Data(contentsOf: URL(fileURLWithPath: directory + "/1.body"))
        let head = try XCTUnwrap(body.range(of: Data("\r\n\r\n".utf8)))
        let tail = try XCTUnwrap(body.range(of: Data("\r\n--\(boundary)--".utf8), options: .backwards))
        XCTAssertTrue(String(decoding: body[..<head.lowerBound], as: UTF8.self).contains("name=\"profile\""))
        try body[head.upperBound..<tail.lowerBound].write(to: URL(fileURLWithPath: directory + "/profile.pb.gz"))
        let raw = try Tool.run("/usr/bin/go", ["tool", "pprof", "-raw", directory + "/profile.pb.gz"])
        XCTAssertEqual(raw.status, 0, raw.stderr)
        XCTAssertTrue(raw.stdout.contains("spin_primes"), String(raw.stdout.prefix(2000)))
    }

    /// --otlp sends each window to a collector's OTLP/HTTP endpoint as an ExportProfilesServiceRequest that
    /// OpenTelemetry's decoder reads (the demo's processes, the labels as resource attributes, --app as service.name),
    /// with --otlp-header's headers; beside it, --push carries its tenant and basic authentication.
    func testOTLPPushAndHeaders() throws {
        try requireRoot()
        let directory = try Tool.scratchDirectory()
        let receiver = try startReceiver(port: port + 1, directory: directory)
        defer { receiver.terminate(); receiver.waitUntilExit() }
        let demo = try startDemo()
        defer { demo.terminate(); demo.waitUntilExit() }
        let (agent, _) = try startAgent(["--comm", "demo", "--otlp", "127.0.0.1:\(port + 1)", "--otlp-header", "X-Scope-OrgID=team-a",
                                         "--push", "http://127.0.0.1:\(port + 1)", "--push-tenant", "team-b", "--push-basic-auth", "user:secret",
                                         "--app", "checkout.cpu", "--label", "env=test", "--interval", "1s"])
        defer { agent.terminate(); agent.waitUntilExit() }
        func requests() -> [(line: String, body: String)] {
            (0..<bodies(in: directory)).compactMap { n in
                (try? String(contentsOfFile: directory + "/\(n).line", encoding: .utf8)).map { ($0, directory + "/\(n).body") }
            }
        }
        for _ in 0..<80 where requests().filter({ $0.line.hasPrefix("POST /v1development/profiles ") }).count < 2 { Thread.sleep(forTimeInterval: 0.1) }
        let otlp = requests().filter { $0.line.hasPrefix("POST /v1development/profiles HTTP/1.1\napplication/x-protobuf\n") }
        XCTAssertGreaterThanOrEqual(otlp.count, 2, "\(requests().map(\.line))")
        let second = try XCTUnwrap(otlp.dropFirst().first)
        XCTAssertTrue(second.line.contains("X-Scope-OrgID: team-a"), second.line)
        let pyroscope = try XCTUnwrap(requests().first { $0.line.hasPrefix("POST /ingest?") })
        XCTAssertTrue(pyroscope.line.contains("X-Scope-OrgID: team-b"), pyroscope.line)
        XCTAssertTrue(pyroscope.line.contains("Authorization: Basic " + Data("user:secret".utf8).base64EncodedString()), pyroscope.line)

        guard OTLPCheck.available else { throw XCTSkip("needs opentelemetry-proto for Python to decode the OTLP request (make deps)") }
        let summary = try OTLPCheck.decoded(second.body)
        XCTAssertGreaterThan(summary.samples, 10)
        let resource = try XCTUnwrap(summary.resources.first)
        XCTAssertEqual(resource.attributes["service.name"]?["stringValue"], "checkout.cpu")
        XCTAssertEqual(resource.attributes["env"]?["stringValue"], "test")
        XCTAssertNil(resource.attributes["comm"], "Ember names the process itself (process.executable.name)")
        XCTAssertTrue(summary.resources.allSatisfy { $0.attributes["process.executable.name"]?["stringValue"] == "demo" }, "\(summary.resources)")
        XCTAssertTrue(summary.leaves.keys.contains { $0.hasSuffix(" spin_primes") }, "\(summary.leaves)")
    }

    /// A server that cannot be reached: windows queue up to --push-queue (the oldest dropped and counted), failures
    /// are said once (not per push), and when the server comes up the queue goes out and the agent says so.
    func testPushFailures() throws {
        try requireRoot()
        let log = try Tool.scratchDirectory() + "/agent.err"
        let (agent, port) = try startAgent(["-a", "--push", "http://127.0.0.1:\(self.port + 2)", "--app", "x", "--interval", "300ms",
                                            "--push-queue", "2"], stderr: log)
        defer { agent.terminate(); agent.waitUntilExit() }
        Thread.sleep(forTimeInterval: 3)
        let said = try String(contentsOfFile: log, encoding: .utf8)
        XCTAssertEqual(said.components(separatedBy: "failed").count - 1, 1, "one report, not one per push: \(said)")
        XCTAssertTrue(said.contains("Couldn't connect") || said.contains("connect"), said)
        XCTAssertGreaterThanOrEqual(try metric("ember_agent_push_failures_total", port: port), 2)
        XCTAssertGreaterThanOrEqual(try metric("ember_agent_push_dropped_total", port: port), 1, "a queue of 2 windows for 3 s of 0.3 s windows")

        let directory = try Tool.scratchDirectory()
        let receiver = try startReceiver(port: self.port + 2, directory: directory)
        defer { receiver.terminate(); receiver.waitUntilExit() }
        for _ in 0..<100 where bodies(in: directory) < 2 { Thread.sleep(forTimeInterval: 0.1) }
        XCTAssertGreaterThanOrEqual(bodies(in: directory), 2, "the queued windows went out")
        XCTAssertTrue(try String(contentsOfFile: log, encoding: .utf8).contains("works again"))
        XCTAssertGreaterThanOrEqual(try metric("ember_agent_pushes_total", port: port), 2)
    }

    /// A server that refuses windows for good (a 4xx other than 408 and 429): each is dropped and counted rather than
    /// retried at the head of the queue, and the refusal is said once with the server's reason.
    func testPushRefused() throws {
        try requireRoot()
        let directory = try Tool.scratchDirectory()
        let receiver = try startReceiver(port: port + 1, directory: directory, status: 413)
        defer { receiver.terminate(); receiver.waitUntilExit() }
        let log = try Tool.scratchDirectory() + "/agent.err"
        let (agent, port) = try startAgent(["-a", "--push", "http://127.0.0.1:\(self.port + 1)", "--app", "x", "--interval", "300ms"], stderr: log)
        defer { agent.terminate(); agent.waitUntilExit() }
        for _ in 0..<50 where bodies(in: directory) < 4 { Thread.sleep(forTimeInterval: 0.1) }
        XCTAssertGreaterThanOrEqual(bodies(in: directory), 4, "each window is sent once, none blocks the queue")
        XCTAssertGreaterThanOrEqual(try metric("ember_agent_push_dropped_total", port: port), 3)
        let said = try String(contentsOfFile: log, encoding: .utf8)
        XCTAssertEqual(said.components(separatedBy: "answered 413: profile too large (that window is dropped)").count - 1, 1, said)
    }

    /// CPU seconds (user + system) process `pid` has used: /proc/PID/stat fields 14 and 15, after the command.
    private func cpuSeconds(_ pid: Int32) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let fields = stat[stat.index(after: try XCTUnwrap(stat.lastIndex(of: ")")))...].split(separator: " ")
        let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// One connection that drips a request head (a byte every half second, never the blank line) and N that never
    /// send; after HOLD seconds, prints when the drip was closed by the server (seconds, or null) and how many of
    /// the silent ones were.
    private static let hostileClients = #"""
        import json, select, socket, sys, time
        port, n, hold = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
        start = time.monotonic()
        drip = socket.create_connection(("127.0.0.1", port), timeout=2)
        drip.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        socks = {"drip": drip}
        for i in range(n):
            socks[i] = socket.create_connection(("127.0.0.1", port), timeout=2)
        closed, next_drip = {}, start
        while time.monotonic() - start < hold:
            if "drip" not in closed and time.monotonic() >= next_drip:
                try:
                    drip.send(b"x")
                except OSError:
                    closed["drip"] = time.monotonic() - start
                next_drip += 0.5
            open_ = {k: s for k, s in socks.items() if k not in closed}
            ready, _, _ = select.select(list(open_.values()), [], [], 0.1)
            for k, s in open_.items():
                if s in ready:
                    try:
                        data = s.recv(1)
                    except OSError:
                        data = b""
                    if not data:
                        closed[k] = time.monotonic() - start
        print(json.dumps({"drip": closed.get("drip"), "idleClosed": len([k for k in closed if k != "drip"])}))
        """#

    /// Hostile clients under `ulimit -n 64` (the agent itself keeps ~17 descriptors): 60 that never send and one
    /// that drips a request head. Held to the connection limit (said once) or, above what the descriptors allow,
    /// paused on EMFILE (said once): either way no accept spin, each is closed 5 s (the idle timeout) after it
    /// opened though the drip keeps sending, and /healthz answers once they leave.
    func testHostileClients() throws {
        try requireRoot()
        for (arguments, said) in [([String](), "connections open, the most the agent holds"),
                                  (["--max-connections", "200"], "cannot accept a connection: too many open files")] {
            let log = try Tool.scratchDirectory() + "/agent.err"
            let (agent, port) = try startAgent(arguments, stderr: log, openFiles: 64)
            let before = try cpuSeconds(agent.processIdentifier)
            let clients = try Tool.run("/usr/bin/python3", ["-c", Self.hostileClients, "\(port)", "60", "8"], timeout: 60)
            let used = try cpuSeconds(agent.processIdentifier) - before
            XCTAssertEqual(clients.status, 0, clients.stderr)
            XCTAssertLessThan(used, 1, "\(arguments): CPU seconds in 8 s of idle connections (an accept spin on EMFILE costs ~5)")
            let seen = try JSONSerialization.jsonObject(with: Data(clients.stdout.utf8)) as? [String: Any] ?? [:]
            let drip = try XCTUnwrap(seen["drip"] as? Double, "\(arguments): the dripped head was never cut off: \(clients.stdout)")
            XCTAssertTrue((4.5...7).contains(drip), "\(arguments): the drip was closed after \(drip) s, not at the 5 s idle timeout")
            XCTAssertGreaterThanOrEqual(seen["idleClosed"] as? Int ?? 0, 4, "\(arguments): silent connections closed: \(clients.stdout)")
            let started = Date()
            XCTAssertEqual(try curl(["-m", "3", "http://127.0.0.1:\(port)/healthz"]).stdout, "ok\n")
            XCTAssertLessThan(Date().timeIntervalSince(started), 2)
            XCTAssertTrue(agent.isRunning)
            agent.terminate()
            agent.waitUntilExit()
            let text = try String(contentsOfFile: log, encoding: .utf8)
            XCTAssertEqual(text.components(separatedBy: said).count - 1, 1, text)
            if arguments.isEmpty { XCTAssertTrue(text.contains("ulimit -n 64 leaves room for"), text) }
        }
    }
}

/// The agent exited before answering /healthz; what it said.
struct AgentDidNotStart: Error, CustomStringConvertible {
    var log: String
    var description: String { "the agent did not start: \(log)" }
}
