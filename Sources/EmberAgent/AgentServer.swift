import Hummingbird
import HummingbirdCore
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// `ember agent`'s HTTP side, on Hummingbird: `GET /debug/pprof/profile?seconds=N` (Go's net/http/pprof endpoint,
/// which Parca and Grafana Alloy scrape), `GET /debug/pprof/offcpu?seconds=N` (off-CPU time, as pprof),
/// `GET /debug/pprof/heap?seconds=N` (a heap profile of processes started with the heap shim), `GET /healthz`, and `GET /metrics` (Prometheus text). A bad query or an
/// unknown path gets a 4xx with a one-line reason.
///
/// Hostile clients: a connection that has not sent a whole request head within `idleSeconds` of opening (or of its
/// last answer) is closed; at most `maxConnections` are held at once (the rest wait in the kernel's listen queue);
/// and running out of descriptors pauses accepting instead of spinning.
public struct AgentServer {
    public var host: String
    public var port: Int
    /// The longest profile a request may ask for, and the length of one that does not say.
    public var maxSeconds: Double
    public var defaultSeconds = 30.0
    /// Connections held open at once; more wait in the listen queue until one closes. nil: 64, or fewer where
    /// `ulimit -n` leaves less room beside the recording's own descriptors.
    public var maxConnections: Int?
    /// How long a connection may take to send a request's head, counted from when it opened or was last answered:
    /// clients that never send, heads dripped a byte at a time, idle keep-alives. A request being answered (a
    /// profile of N seconds) is not cut short.
    public var idleSeconds = 5.0
    /// One-line notes for the agent's log: the connection limit reached, descriptors run out.
    public var report: @Sendable (String) -> Void
    private let service: ProfileService
    private let metrics: AgentMetrics

    public init(service: ProfileService, metrics: AgentMetrics, host: String, port: Int, maxSeconds: Double,
                maxConnections: Int? = nil, report: @escaping @Sendable (String) -> Void = { _ in }) {
        self.service = service
        self.metrics = metrics
        self.host = host
        self.port = port
        self.maxSeconds = maxSeconds
        self.maxConnections = maxConnections
        self.report = report
    }

    /// Serves until cancelled; `listening` runs once the address is bound (so that "serving" is said only then).
    public func run(listening: @escaping @Sendable () -> Void = {}) async throws {
        let router = Router()
        router.middlewares.add(OnlyGet())
        let service = self.service, metrics = self.metrics, maxSeconds = self.maxSeconds, defaultSeconds = self.defaultSeconds
        router.get("healthz") { _, _ -> String in "ok\n" }
        /// `?seconds=N`: more than 0, at most the cap; the default when absent.
        @Sendable func seconds(_ request: Request) throws -> Double {
            guard let text = request.uri.queryParameters.get("seconds") else { return defaultSeconds }
            guard let value = Double(text), value > 0, value.isFinite else {
                throw HTTPError(.badRequest, message: "seconds must be a number of seconds more than 0, not '\(text)'")
            }
            guard value <= maxSeconds else {
                throw HTTPError(.badRequest, message: "seconds=\(text) is more than this agent's --max-seconds \(Int(maxSeconds))")
            }
            return value
        }
        @Sendable func answer(_ profile: () async throws -> ProfileWindow) async throws -> Response {
            let bytes: [UInt8]
            do {
                bytes = try await profile().pprof
            } catch {
                throw HTTPError(.internalServerError, message: "recording failed: \(error)")
            }
            return Response(status: .ok, headers: [.contentType: "application/octet-stream"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        router.get("debug/pprof/profile") { request, _ -> Response in
            let seconds = try seconds(request)
            return try await answer { try await service.profile(seconds: seconds) }
        }
        router.get("debug/pprof/offcpu") { request, _ -> Response in
            let seconds = try seconds(request)
            return try await answer { try await service.offCPU(seconds: seconds) }
        }
        router.get("debug/pprof/heap") { request, _ -> Response in
            let seconds = try seconds(request)
            return try await answer { try await service.heap(seconds: seconds) }
        }
        router.get("metrics") { _, _ -> String in metrics.text() }
        let report = self.report
        let connections = maxConnections ?? Self.connectionLimit(report: report)
        var configuration = ApplicationConfiguration(address: .hostname(host, port: port), serverName: "ember-agent")
        configuration.availableConnectionsDelegate = ConnectionCap(limit: connections, report: report)
        let app = Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: .nanoseconds(Int64(idleSeconds * 1_000_000_000)))),
            configuration: configuration,
            onServerRunning: { channel in
                // `channel` is the listening socket's: one accept per wakeup (so the cap holds exactly), and a pause
                // rather than a spin when accept runs out of descriptors.
                try? await channel.eventLoop.submit {
                    try channel.syncOptions?.setOption(.maxMessagesPerRead, value: 1)
                    try channel.pipeline.syncOperations.addHandler(AcceptPause(report: report), position: .first)
                }.get()
                listening()
            })
        try await app.runService()
    }

    /// `wanted`, or what the open-file limit leaves: the agent keeps about 20 descriptors of its own and a recording
    /// opens a few per CPU (perf events, ELF files), so 32 + 8 per CPU stay free for them. Says so when it lowers.
    static func connectionLimit(wanted: Int = 64, report: (String) -> Void) -> Int {
        var files = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &files) == 0 else { return wanted }
        let soft = Int(clamping: files.rlim_cur)
        let room = max(4, soft - 32 - 8 * sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        guard room < wanted else { return wanted }
        report("ulimit -n \(soft) leaves room for \(room) connections at once (not \(wanted))")
        return room
    }
}

/// Every endpoint only answers GET (and HEAD): any other method is refused with 405 and the allowed ones named,
/// whatever the path.
struct OnlyGet<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .get || request.method == .head else {
            return Response(status: .methodNotAllowed, headers: [.allow: "GET, HEAD"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: "only GET is served here\n")))
        }
        return try await next(request, context)
    }
}
