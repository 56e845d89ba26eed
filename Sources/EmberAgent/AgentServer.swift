import Hummingbird

/// `ember agent`'s HTTP side, on Hummingbird: `GET /debug/pprof/profile?seconds=N` (Go's net/http/pprof endpoint,
/// which Parca and Grafana Alloy scrape), `GET /debug/pprof/offcpu?seconds=N` (off-CPU time, as pprof), `GET
/// /healthz`, and `GET /metrics` (Prometheus text). A bad query or an
/// unknown path gets a 4xx with a one-line reason.
public struct AgentServer {
    public var host: String
    public var port: Int
    /// The longest profile a request may ask for, and the length of one that does not say.
    public var maxSeconds: Double
    public var defaultSeconds = 30.0
    private let service: ProfileService
    private let metrics: AgentMetrics

    public init(service: ProfileService, metrics: AgentMetrics, host: String, port: Int, maxSeconds: Double) {
        self.service = service
        self.metrics = metrics
        self.host = host
        self.port = port
        self.maxSeconds = maxSeconds
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
        router.get("metrics") { _, _ -> String in metrics.text() }
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "ember-agent"),
                              onServerRunning: { _ in listening() })
        try await app.runService()
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
