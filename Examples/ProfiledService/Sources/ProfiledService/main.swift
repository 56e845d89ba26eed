import EmberProfiler
import Hummingbird

/// The deliberately slow part of the service: counts primes by trial division.
@inline(never)
func countPrimes(below limit: Int) -> Int {
    var count = 0
    for n in 2..<max(2, limit) where (2..<n).allSatisfy({ $0 * $0 > n || n % $0 != 0 }) {
        count += 1
    }
    return count
}

let port = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 8080
let router = Router()
router.get("hello") { _, _ in "hello\n" }
router.get("primes") { _, _ in "\(countPrimes(below: 30_000))\n" }

// The profiler, in a few lines: Go's endpoint, so `go tool pprof`, Parca and Grafana Alloy can scrape it.
router.get("debug/pprof/profile") { request, _ -> Response in
    let seconds = request.uri.queryParameters.get("seconds").flatMap { Double($0) } ?? 30
    guard seconds > 0, seconds <= 60 else { throw HTTPError(.badRequest, message: "seconds must be more than 0 and at most 60") }
    let profile = try await EmberProfiler.record(seconds: seconds, frequency: 99)
    return Response(status: .ok, headers: [.contentType: "application/octet-stream"],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: try profile.pprof())))
}

let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "ProfiledService"))
try await app.runService()
