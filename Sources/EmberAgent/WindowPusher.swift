import Foundation

/// `ember agent --push URL` and `--otlp URL`: every interval, the last interval's profile goes to a Pyroscope
/// server's `POST /ingest?name=APP{labels}&from=&until=&format=pprof` (the pprof in a multipart form's `profile`
/// field, as Pyroscope's own clients send it), or to an OpenTelemetry collector's OTLP/HTTP endpoint
/// (`POST /v1development/profiles`, an ExportProfilesServiceRequest as `application/x-protobuf`).
///
/// Collecting and sending run apart: windows wait in a queue of fixed length (the oldest dropped and counted when it
/// is full) while a sender retries the oldest with a doubling backoff. Failures are reported once a minute with
/// their count and the last reason, not once per push.
public actor WindowPusher {
    /// Where windows go.
    public enum Destination: Sendable {
        /// A Pyroscope server, such as `http://pyroscope:4040` (`/ingest` is added), and the application name its
        /// profiles are filed under.
        case pyroscope(server: URL, app: String)
        /// An OTLP/HTTP profiles endpoint, the whole URL (`.../v1development/profiles`).
        case otlp(endpoint: URL)
    }

    public struct Configuration: Sendable {
        public var destination: Destination
        /// Labels in the order given (host, comm, pid and `--label`s); OTLP carries them as resource attributes.
        public var labels: [Label]
        /// Further request headers, `Name: value` (a tenant, authorization).
        public var headers: [String] = []
        public var interval: Double
        public var frequency: Int
        public var queueLimit = 8
        /// How often failures are reported (and the longest backoff).
        public var reportEvery = 60.0

        public init(destination: Destination, labels: [Label], interval: Double, frequency: Int) {
            self.destination = destination
            self.labels = labels
            self.interval = interval
            self.frequency = frequency
        }

        /// Where the windows go, for messages.
        public var target: String {
            switch destination {
            case .pyroscope(let server, _): return server.absoluteString
            case .otlp(let endpoint): return endpoint.absoluteString
            }
        }
    }

    public struct Label: Sendable, Equatable {
        public var key: String
        public var value: String

        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }

        /// `k=v` from the command line, or why it cannot be a Pyroscope label.
        public static func parse(_ text: String) throws -> Label {
            guard let eq = text.firstIndex(of: "=") else { throw PushError.badLabel("--label takes KEY=VALUE, not '\(text)'") }
            let label = Label(key: String(text[..<eq]), value: String(text[text.index(after: eq)...]))
            try label.validate()
            return label
        }

        /// Keys as Prometheus names them; values without the characters that delimit Pyroscope's `{k=v,...}`.
        public func validate() throws {
            let keyOK = key.first.map { $0.isASCII && ($0.isLetter || $0 == "_") } == true
                && key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ".") }
            guard keyOK else { throw PushError.badLabel("label key '\(key)' must be letters, digits, _ and . (starting with a letter or _)") }
            guard !value.isEmpty, !value.contains(where: { "{},=\"".contains($0) || $0.isWhitespace }) else {
                throw PushError.badLabel("label \(key)'s value '\(value)' must be non-empty, without spaces, braces, commas, quotes or =")
            }
        }
    }

    public enum PushError: Error, CustomStringConvertible {
        case badLabel(String)
        case status(Int, String)
        case transport(String)

        /// A 4xx other than a timeout or too many requests: sending the same window again cannot help.
        var isPermanent: Bool {
            if case .status(let code, _) = self { return (400..<500).contains(code) && code != 408 && code != 429 }
            return false
        }

        public var description: String {
            switch self {
            case .badLabel(let m), .transport(let m): return m
            case .status(let code, let body): return "the server answered \(code)\(body.isEmpty ? "" : ": " + body)"
            }
        }
    }

    private let configuration: Configuration
    private let service: ProfileService
    private let metrics: AgentMetrics
    private let report: @Sendable (String) -> Void
    /// Windows waiting, oldest first, each with its number.
    private var queue: [(number: Int, window: ProfileWindow)] = []
    private var collected = 0
    /// The newest sample time (perf clock) of the last window collected.
    private var lastNewest: UInt64?
    private var queued: CheckedContinuation<Void, Never>?
    /// Failures since the last report and since pushes last worked, the last one's reason, and when the last report
    /// was made.
    private var failures = 0
    private var outage = 0
    private var lastFailure = ""
    private var lastReport: Double?
    private var droppedSinceReport = 0

    public init(_ configuration: Configuration, service: ProfileService, metrics: AgentMetrics, report: @escaping @Sendable (String) -> Void) {
        self.configuration = configuration
        self.service = service
        self.metrics = metrics
        self.report = report
    }

    /// Collects and sends until cancelled.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.collect() }
            group.addTask { await self.send() }
        }
    }

    /// The Pyroscope URL of one window: `name` is `APP{k=v,...}`.
    static func ingestURL(server: URL, app: String, labels: [Label], frequency: Int, _ window: ProfileWindow) -> URL {
        let name = app + "{" + labels.map { "\($0.key)=\($0.value)" }.joined(separator: ",") + "}"
        let query: [(String, String)] = [("name", name), ("from", "\(window.from)"), ("until", "\(window.until)"), ("format", "pprof"),
                                         ("sampleRate", "\(frequency)"), ("spyName", "ember")]
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        let text = query.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }.joined(separator: "&")
        return URL(string: server.absoluteString.replacingOccurrences(of: "/+$", with: "", options: .regularExpression) + "/ingest?" + text)!
    }

    private var isOTLP: Bool {
        if case .otlp = configuration.destination { return true }
        return false
    }

    private func collect() async {
        // On a fixed beat: the time a window takes to read does not stretch the next.
        let clock = ContinuousClock()
        var due = clock.now
        while true {
            due = max(due + .milliseconds(Int64(configuration.interval * 1000)), clock.now)
            do { try await clock.sleep(until: due) } catch { return }
            do {
                // Each window starts after the last one's newest sample: none overlap, and none leave a gap.
                let window = try await service.profile(seconds: configuration.interval, after: lastNewest, otlp: isOTLP)
                if window.newest > 0 { lastNewest = window.newest }
                enqueue(window)
            } catch {
                failed("recording the window failed: \(error)")
            }
        }
    }

    private func enqueue(_ window: ProfileWindow) {
        if queue.count >= configuration.queueLimit {
            queue.removeFirst()
            metrics.pushDropped.increment()
            droppedSinceReport += 1
        }
        collected += 1
        queue.append((collected, window))
        wake()
    }

    private func wake() {
        queued?.resume()
        queued = nil
    }

    private func send() async {
        var backoff = 1.0
        while !Task.isCancelled {
            guard let (number, window) = queue.first else {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { waiting in
                        if Task.isCancelled { waiting.resume() } else { queued = waiting }
                    }
                } onCancel: {
                    Task { await self.wake() }
                }
                continue
            }
            do {
                try await post(window)
                // While it was sent, a full queue may have dropped it already.
                queue.removeAll { $0.number == number }
                metrics.pushes.increment()
                backoff = 1
                if outage > 0 { reportFailures(recovered: true) }
            } catch let refused as PushError where refused.isPermanent {
                // The server refuses this window for good (malformed, too large): retrying would block the queue.
                queue.removeAll { $0.number == number }
                metrics.pushFailures.increment()
                metrics.pushDropped.increment()
                droppedSinceReport += 1
                failed("\(refused) (that window is dropped)")
            } catch {
                metrics.pushFailures.increment()
                failed("\(error)")
                do { try await Task.sleep(nanoseconds: UInt64(backoff * 1e9)) } catch { return }
                backoff = min(backoff * 2, configuration.reportEvery, max(1, 4 * configuration.interval))
            }
        }
    }

    private func post(_ window: ProfileWindow) async throws {
        let url: URL, body: Data, type: String
        switch configuration.destination {
        case .pyroscope(let server, let app):
            let boundary = "ember-\(UUID().uuidString)"
            var form = Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"profile\"; filename=\"profile.pprof\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
            form.append(contentsOf: window.pprof)
            form.append(Data("\r\n--\(boundary)--\r\n".utf8))
            url = WindowPusher.ingestURL(server: server, app: app, labels: configuration.labels, frequency: configuration.frequency, window)
            body = form
            type = "multipart/form-data; boundary=\(boundary)"
        case .otlp(let endpoint):
            url = endpoint
            body = Data(window.otlp)
            type = "application/x-protobuf"
        }
        let (status, data): (Int, Data)
        do {
            // A push under way is not cancelled with the agent: it ends by itself within the 10 s timeout.
            (status, data) = try await HTTPPost.send(to: url, headers: ["Content-Type: " + type] + configuration.headers,
                                                     body: body, timeoutSeconds: 10)
        } catch let failure as HTTPPost.Failure {
            throw PushError.transport(failure.reason)
        }
        guard (200..<300).contains(status) else {
            throw PushError.status(status, String(decoding: data.prefix(200), as: UTF8.self).split(separator: "\n").first.map(String.init) ?? "")
        }
    }

    private func failed(_ reason: String) {
        failures += 1
        outage += 1
        lastFailure = reason
        reportFailures(recovered: false)
    }

    /// The first failure at once, then at most one line a minute; and one line when pushes go through again.
    private func reportFailures(recovered: Bool) {
        let now = ProcessInfo.processInfo.systemUptime
        if !recovered, let lastReport, now - lastReport < configuration.reportEvery { return }
        let target = configuration.target
        var line = recovered ? "push to \(target) works again after \(outage) failed attempt\(outage == 1 ? "" : "s")"
                             : "push to \(target) failed \(failures == 1 ? "once" : "\(failures) times")\(lastReport == nil ? "" : " in the last \(Int(configuration.reportEvery)) s"): \(lastFailure)"
        line += "; \(queue.count) window\(queue.count == 1 ? "" : "s") queued"
        if droppedSinceReport > 0 { line += ", \(droppedSinceReport) dropped from the full queue (--push-queue \(configuration.queueLimit))" }
        report(line)
        lastReport = recovered ? nil : now
        if recovered { outage = 0 }
        failures = 0
        droppedSinceReport = 0
    }
}
