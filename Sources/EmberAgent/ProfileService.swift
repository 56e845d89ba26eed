import EmberPprof
import EmberRecord
import EmberStacks
import Foundation

/// Records CPU profiles on demand and answers them as gzip-compressed pprof, holding no perf event open between
/// requests. Requests that arrive while a recording runs share it, rather than opening the events twice.
public actor ProfileService {
    struct Recorded: Sendable {
        var pprof: [UInt8]
        var samples: UInt64
        var lost: UInt64
    }

    private let template: RecordOptions
    private var inFlight: Task<Recorded, Error>?
    /// Served profiles, samples recorded and events the kernel lost, for /metrics.
    public private(set) var served = 0
    public private(set) var samples: UInt64 = 0
    public private(set) var lost: UInt64 = 0

    /// `template` names the target, frequency and call graphs; each request sets the duration and output.
    public init(template: RecordOptions) {
        self.template = template
    }

    public func profile(seconds: Double) async throws -> [UInt8] {
        if let running = inFlight { return try await running.value.pprof }
        var options = template
        options.duration = seconds
        options.progress = false
        options.output = FileManager.default.temporaryDirectory.appendingPathComponent("ember-agent-\(getpid())-\(UUID().uuidString).data").path
        let recording = options
        let task = Task { try await ProfileService.record(recording) }
        inFlight = task
        defer { inFlight = nil }
        let recorded = try await task.value
        served += 1
        samples &+= recorded.samples
        lost &+= recorded.lost
        return recorded.pprof
    }

    /// Records on a thread of its own (the recorder blocks while it drains), then builds the pprof.
    private static func record(_ options: RecordOptions) async throws -> Recorded {
        try await withCheckedThrowingContinuation { continuation in
            let drain = Thread {
                defer { unlink(options.output) }
                do {
                    let summary = try Recorder(options: options).run()
                    let pprof = try PprofBuilder.gzipped(try PprofBuilder().build(try Replay(path: options.output)))
                    continuation.resume(returning: Recorded(pprof: pprof, samples: summary.samples, lost: summary.lost))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            drain.name = "ember agent drain"
            drain.start()
        }
    }
}
