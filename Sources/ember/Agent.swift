import ArgumentParser
import Dispatch
import EmberAgent
import EmberOTLP
import EmberRecord
import Foundation

struct Agent: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Serve CPU profiles over HTTP (/debug/pprof/profile) for Parca, Pyroscope and go tool pprof, or push them to Pyroscope or an OpenTelemetry collector.",
        discussion: "Example: ember agent -a --listen 127.0.0.1:6060"
    )

    @Option(help: ArgumentHelp("Where to listen, HOST:PORT (a loopback address unless --allow-remote).", valueName: "host:port"))
    var listen = "127.0.0.1:6060"

    @Flag(name: .customLong("allow-remote"), help: "Listen on an address other hosts can reach.")
    var allowRemote = false

    @Flag(name: [.customShort("a"), .customLong("all-cpus")], help: "Profile every CPU (the default).")
    var allCPUs = false

    @Option(name: [.customShort("p"), .customLong("pid")], help: "Profile these running processes: PID[,PID...].")
    var pids: String?

    @Option(name: [.customShort("F"), .customLong("freq")], parsing: .unconditional, help: "Samples per second.")
    var frequency = 99

    @Option(name: .customLong("call-graph"), help: "How stacks are taken: fp or dwarf[,SIZE].")
    var callGraph = "fp"

    @Option(name: .customLong("max-seconds"), parsing: .unconditional, help: "The longest profile a request may ask for, in seconds.")
    var maxSeconds = 60.0

    @Option(name: [.customLong("comm"), .customLong("comms")], help: ArgumentHelp("Profile only processes whose main thread has this name (the recording covers every CPU; --comms is the same).", valueName: "name"))
    var comm: String?

    @Flag(help: "Keep one rolling window open (overwrite rings sized for --max-seconds) and answer each request at once from its newest seconds.")
    var continuous = false

    @Option(help: ArgumentHelp("Push each interval's profile to this Pyroscope server's /ingest (keeps a window open, as --continuous).", valueName: "url"))
    var push: String?

    @Option(name: .customLong("push-tenant"), help: ArgumentHelp("With --push: the tenant (X-Scope-OrgID header) of a multi-tenant Pyroscope.", valueName: "id"))
    var pushTenant: String?

    @Option(name: .customLong("push-basic-auth"), help: ArgumentHelp("With --push: USER:PASSWORD for HTTP basic authentication (or the EMBER_PUSH_BASIC_AUTH environment variable, kept out of ps).", valueName: "user:password"))
    var pushBasicAuth: String?

    @Option(help: ArgumentHelp("Send each interval's profile to this OpenTelemetry collector's OTLP/HTTP endpoint (a bare host:port gets /v1development/profiles; keeps a window open, as --continuous).", valueName: "url"))
    var otlp: String?

    @Option(name: .customLong("otlp-header"), help: ArgumentHelp("With --otlp: a request header, KEY=VALUE (repeatable: authorization, a tenant).", valueName: "key=value"))
    var otlpHeader: [String] = []

    @Option(help: ArgumentHelp("With --push: the application name Pyroscope files the profiles under; with --otlp: the service.name.", valueName: "name"))
    var app: String?

    @Option(help: ArgumentHelp("With --push or --otlp: a label for the profiles, KEY=VALUE (repeatable; host is always added; OTLP: a resource attribute).", valueName: "key=value"))
    var label: [String] = []

    @Option(parsing: .unconditional, help: ArgumentHelp("With --push or --otlp: how often to send, such as 15s, 1m or 500ms.", valueName: "duration"))
    var interval = "15s"

    @Option(name: .customLong("push-queue"), help: "With --push or --otlp: windows kept while the server cannot be reached; the oldest is dropped beyond this.")
    var pushQueue = 8

    @Option(name: .customLong("max-connections"), help: ArgumentHelp("Connections held open at once; more wait until one closes. (default: 64, fewer where ulimit -n leaves less room)", valueName: "n"))
    var maxConnections: Int?

    func validate() throws {
        guard frequency >= 1 else { throw ValidationError("-F takes samples per second, 1 or more (got \(frequency))") }
        guard maxSeconds > 0, maxSeconds <= 3600 else { throw ValidationError("--max-seconds must be more than 0 and at most 3600 (got \(maxSeconds))") }
        if [allCPUs, pids != nil, comm != nil].filter({ $0 }).count > 1 { throw ValidationError("-a, -p and --comm choose the target; give one") }
        if push == nil, otlp == nil, app != nil || !label.isEmpty || interval != "15s" || pushQueue != 8 {
            throw ValidationError("--app, --label, --interval and --push-queue go with --push URL or --otlp URL")
        }
        if push == nil, pushTenant != nil || pushBasicAuth != nil { throw ValidationError("--push-tenant and --push-basic-auth go with --push URL") }
        if otlp == nil, !otlpHeader.isEmpty { throw ValidationError("--otlp-header goes with --otlp URL") }
        if push != nil, app == nil { throw ValidationError("--push needs --app NAME: the application name Pyroscope files the profiles under") }
        guard pushQueue >= 1 else { throw ValidationError("--push-queue must be 1 or more (got \(pushQueue))") }
        if let maxConnections, maxConnections < 1 { throw ValidationError("--max-connections must be 1 or more (got \(maxConnections))") }
        // The kernel keeps 15 bytes of a thread's name: a longer one would never match.
        if let comm, comm.isEmpty || comm.utf8.count > 15 {
            throw ValidationError("--comm takes a process name as the kernel keeps it, 1 to 15 bytes ('\(comm)' is \(comm.utf8.count)); see /proc/PID/comm")
        }
    }

    func run() throws {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (1...65535).contains(port) else {
            throw Diagnostics.fail("--listen takes HOST:PORT, such as 127.0.0.1:6060, not '\(listen)'")
        }
        var host = String(listen[..<colon])
        // [::1]:6060: the brackets only set the address apart from the port.
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let loopback = host == "127.0.0.1" || host == "::1" || host == "[::1]" || host == "localhost" || host.hasPrefix("127.")
        guard loopback || allowRemote else {
            throw Diagnostics.fail("--listen \(listen) lets other hosts fetch profiles of this one; add --allow-remote to mean it")
        }
        if !loopback {
            Diagnostics.warning("agent: anyone who can reach \(listen) can read this machine's profiles (stacks, command names); keep the port behind a firewall")
        }
        var options: RecordOptions
        var pidList: [Int32] = []
        if let pids {
            pidList = pids.split(separator: ",").compactMap { Int32($0) }
            guard !pidList.isEmpty, pidList.count == pids.split(separator: ",").count else { throw Diagnostics.fail("-p takes PID[,PID...], not '\(pids)'") }
            if let gone = pidList.first(where: { kill($0, 0) != 0 && errno == ESRCH }) { throw Diagnostics.fail("-p \(gone): no such process") }
            options = RecordOptions(target: .processes(pidList))
        } else {
            options = RecordOptions(target: .allCPUs(command: nil))
        }
        options.sampling = .frequency(UInt64(frequency))
        options.samplingIsDefault = false
        do {
            options.callGraph = try Record.callGraphMode(callGraph, framePointer: true)
            // Its windows are files: frame-pointer leaves are repaired and Swift async chains taken, as by record.
            options.repairsLeaves = Record.repairsLeaves(callGraph, options.callGraph, output: options.output)
        } catch let problem as Record.UsageProblem {
            throw Diagnostics.fail(problem.text)
        }
        options.commandLine = ["ember"] + CommandLine.arguments.dropFirst()
        // Its recordings' warnings (a snapshot not written) go to the agent's log, standard error.
        options.messages = { message in if case .warning(let text) = message { Diagnostics.warning("agent: " + text) } }
        let pushers = try pushConfigurations(pids: pidList)
        var configuration = ProfileService.Configuration(template: options, processComm: comm, continuous: continuous || !pushers.isEmpty, maxSeconds: maxSeconds)
        if let first = pushers.first { configuration.maxSeconds = max(maxSeconds, first.interval) }
        if otlp != nil {
            var builder = OTLPBuilder()
            builder.serviceName = app
            // The --label's: Ember names the host and each process itself.
            builder.resourceAttributes = try label.map { text in
                let given = try WindowPusher.Label.parse(text)
                if OTLPBuilder.reservedKeys.contains(given.key) {
                    throw Diagnostics.fail("--label \(given.key) is an attribute Ember sets itself with --otlp; choose another key (--app gives service.name)")
                }
                return (key: given.key, value: given.value)
            }
            configuration.otlp = builder
        }
        let metrics = AgentMetrics()
        let service: ProfileService
        do {
            service = try ProfileService(configuration, metrics: metrics)
        } catch {
            throw Diagnostics.fail("agent: \(error)")
        }
        let server = AgentServer(service: service, metrics: metrics, host: host, port: port, maxSeconds: maxSeconds,
                                 maxConnections: maxConnections, report: { Diagnostics.note("agent: " + $0) })
        // A client gone mid-response must cost an EPIPE, not the agent.
        signal(SIGPIPE, SIG_IGN)
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var failure: Error?
        nonisolated(unsafe) var listening = false
        Task {
            do {
                let window = try await service.start()
                let serving = "agent: serving http://\(listen)/debug/pprof/profile?seconds=N" + (window.map { " (\($0))" } ?? " (no events open between requests)")
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for pusher in pushers {
                        var what = ""
                        if case .pyroscope(let server, let app) = pusher.destination { what = "\(server.absoluteString)/ingest as \(app)" }
                        if case .otlp(let endpoint) = pusher.destination { what = "\(endpoint.absoluteString) (OTLP)" }
                        Diagnostics.note("agent: pushing every \(pusher.interval) s to " + what)
                        let push = WindowPusher(pusher, service: service, metrics: metrics) { Diagnostics.note("agent: " + $0) }
                        group.addTask { await push.run() }
                    }
                    group.addTask {
                        try await server.run {
                            listening = true
                            Diagnostics.note(serving)
                        }
                    }
                    try await group.next()
                    group.cancelAll()
                }
            } catch {
                failure = error
            }
            await service.stop()
            done.signal()
        }
        done.wait()
        if let failure {
            // Before the address was bound the failure is the listening's: name the address and the cause alone.
            guard listening else {
                throw Diagnostics.fail("agent: cannot listen on \(listen): \(Agent.cause(failure)) (choose another address or port)")
            }
            throw Diagnostics.fail("agent: \(failure)")
        }
    }

    /// `--push` and `--otlp` with their options, checked, with the labels they send: host, the comm or the pid where
    /// the agent profiles one process, then `--label`s.
    private func pushConfigurations(pids: [Int32]) throws -> [WindowPusher.Configuration] {
        guard push != nil || otlp != nil else { return [] }
        guard let seconds = DurationText.seconds(interval, plainUnit: 1), seconds >= 0.1, seconds <= 3600 else {
            throw Diagnostics.fail("--interval takes a duration from 100ms to 1h, such as 15s, 1m or 500ms, not '\(interval)'")
        }
        var labels = [WindowPusher.Label(key: "host", value: ProcessInfo.processInfo.hostName)]
        if let comm { labels.append(.init(key: "comm", value: comm)) }
        if pids.count == 1 { labels.append(.init(key: "pid", value: "\(pids[0])")) }
        do {
            for text in label {
                let given = try WindowPusher.Label.parse(text)
                labels.removeAll { $0.key == given.key }
                labels.append(given)
            }
            for l in labels { try l.validate() }
        } catch {
            throw Diagnostics.fail("\(error)")
        }
        func configuration(_ destination: WindowPusher.Destination, headers: [String]) -> WindowPusher.Configuration {
            var configuration = WindowPusher.Configuration(destination: destination, labels: labels, interval: seconds, frequency: frequency)
            configuration.queueLimit = pushQueue
            configuration.headers = headers
            return configuration
        }
        var configurations: [WindowPusher.Configuration] = []
        if let push, let app {
            guard let url = URL(string: push), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
                throw Diagnostics.fail("--push takes the Pyroscope server's URL, such as http://pyroscope:4040, not '\(push)'")
            }
            guard !app.isEmpty, !app.contains(where: { "{},=&".contains($0) || $0.isWhitespace }) else {
                throw Diagnostics.fail("--app '\(app)' must be a name without spaces, braces, commas, & or =, such as checkout.cpu")
            }
            var headers: [String] = []
            if let pushTenant {
                guard !pushTenant.isEmpty, !pushTenant.contains(where: { $0.isNewline || $0 == "\r" }) else { throw Diagnostics.fail("--push-tenant takes a tenant id on one line") }
                headers.append("X-Scope-OrgID: " + pushTenant)
            }
            if let credentials = pushBasicAuth ?? ProcessInfo.processInfo.environment["EMBER_PUSH_BASIC_AUTH"] {
                guard credentials.contains(":"), !credentials.contains(where: { $0.isNewline }) else {
                    throw Diagnostics.fail("--push-basic-auth takes USER:PASSWORD")
                }
                headers.append("Authorization: Basic " + Data(credentials.utf8).base64EncodedString())
            }
            configurations.append(configuration(.pyroscope(server: url, app: app), headers: headers))
        }
        if let otlp {
            configurations.append(configuration(.otlp(endpoint: try Agent.otlpEndpoint(otlp)), headers: try otlpHeader.map(Agent.header)))
        }
        return configurations
    }

    /// The OTLP/HTTP profiles endpoint `text` names: a URL with a path as given, a bare `http://host:port` (or
    /// `host:port`) with OTLP's `/v1development/profiles`.
    static func otlpEndpoint(_ text: String) throws -> URL {
        guard var parts = URLComponents(string: text.contains("://") ? text : "http://" + text),
              let scheme = parts.scheme, ["http", "https"].contains(scheme), parts.host?.isEmpty == false else {
            throw Diagnostics.fail("--otlp takes the collector's OTLP/HTTP address, such as http://otelcol:4318, not '\(text)'")
        }
        if parts.path.isEmpty || parts.path == "/" { parts.path = "/v1development/profiles" }
        guard let url = parts.url else { throw Diagnostics.fail("--otlp takes the collector's OTLP/HTTP address, such as http://otelcol:4318, not '\(text)'") }
        return url
    }

    /// `--otlp-header KEY=VALUE` as a request header: an HTTP token for the name, a value on one line, and not the
    /// Content-Type the request sets itself.
    static func header(_ text: String) throws -> String {
        let token = CharacterSet(charactersIn: "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex,
              text[..<eq].unicodeScalars.allSatisfy(token.contains), text.index(after: eq) != text.endIndex,
              !text.contains(where: { $0.isNewline }) else {
            throw Diagnostics.fail("--otlp-header takes NAME=VALUE (a header name, a value on one line), such as Authorization=Bearer TOKEN, not '\(text)'")
        }
        let name = text[..<eq]
        guard name.lowercased() != "content-type" else { throw Diagnostics.fail("--otlp-header cannot set Content-Type: the request is application/x-protobuf") }
        return name + ": " + text[text.index(after: eq)...]
    }

    /// What a failure to listen comes to: NIO's errors end in "(errno: N)", said here as the system says it.
    static func cause(_ error: Error) -> String {
        let text = "\(error)"
        guard let range = text.range(of: "(errno: "), let end = text[range.upperBound...].firstIndex(of: ")"),
              let code = Int32(text[range.upperBound..<end]) else { return text }
        return String(cString: strerror(code)).lowercased()
    }
}
