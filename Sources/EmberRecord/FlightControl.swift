import CEmberShim
import EmberKernel
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Another thread's hold on a running flight recording (`RecordOptions.control`): it asks for snapshots, written to
/// paths it names, and stops the recording (a live one too: `ember top` stops through it). This is how `ember agent --continuous` answers a request from the last
/// seconds at once. The recorder sleeps on the control's eventfd beside its rings and signals, so a request wakes it
/// and nothing polls.
public final class FlightControl: Sendable {
    /// A snapshot written on request: its samples, and the time (perf clock, ns) of the newest.
    public struct Snapshot: Sendable {
        public var path: String
        public var samples: UInt64
        public var newestTime: UInt64
    }

    private struct Request {
        var path: String
        var done: @Sendable (Result<Snapshot, RecordError>) -> Void
    }

    private struct State {
        var requests: [Request] = []
        var stopping = false
        /// nil until the events are enabled (true) or the recording has ended (false).
        var running: Bool?
        var failure: RecordError?
        var startWaiters: [CheckedContinuation<Void, Error>] = []
    }

    /// The eventfd the recorder waits on; each request or stop adds one.
    let fd: Int32
    private let state = Mutex(State())

    public init() throws {
        fd = ember_eventfd()
        guard fd >= 0 else { throw RecordError.system("eventfd", Errno.current) }
    }

    deinit { close(fd) }

    /// Writes what the rings hold now to `path`; fails when the recording has ended (or ends before it gets to it).
    public func snapshot(to path: String) async throws -> Snapshot {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Snapshot, Error>) in
            let accepted = state.withLock { state -> Bool in
                guard state.running != false else { return false }
                state.requests.append(Request(path: path) { continuation.resume(with: $0.mapError { $0 as Error }) })
                return true
            }
            guard accepted else {
                continuation.resume(throwing: RecordError.output("the flight recording has ended"))
                return
            }
            wake()
        }
    }

    /// Returns once the events are enabled, or throws why the recording could not start (no permission, say).
    public func waitUntilRecording() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            let outcome = state.withLock { state -> Result<Void, Error>? in
                switch state.running {
                case true?: return .success(())
                case false?: return .failure(state.failure ?? RecordError.output("the flight recording has ended"))
                case nil:
                    state.startWaiters.append(continuation)
                    return nil
                }
            }
            if let outcome { continuation.resume(with: outcome) }
        }
    }

    /// Ends the recording: the recorder disables its events and returns (after the final snapshot, unless
    /// `finalSnapshot` is off).
    public func stop() {
        state.withLock { $0.stopping = true }
        wake()
    }

    private func wake() {
        var one: UInt64 = 1
        _ = write(fd, &one, 8)
    }

    /// The recorder's side: the requests since the last call, and whether to stop.
    func take() -> (requests: [(path: String, done: @Sendable (Result<Snapshot, RecordError>) -> Void)], stop: Bool) {
        var count: UInt64 = 0
        _ = read(fd, &count, 8)
        return state.withLock { state in
            defer { state.requests = [] }
            return (state.requests.map { ($0.path, $0.done) }, state.stopping)
        }
    }

    /// The recorder's side: the events are enabled.
    func began() {
        let waiters = state.withLock { state in
            state.running = true
            defer { state.startWaiters = [] }
            return state.startWaiters
        }
        for w in waiters { w.resume() }
    }

    /// The recording is over (`failure` when it could not start): later requests fail at once, and those still
    /// waiting fail now.
    func finish(failure: RecordError? = nil) {
        let (left, waiters) = state.withLock { state in
            state.running = false
            state.failure = failure
            defer { state.requests = []; state.startWaiters = [] }
            return (state.requests, state.startWaiters)
        }
        let ended = failure ?? RecordError.output("the flight recording has ended")
        for r in left { r.done(.failure(ended)) }
        for w in waiters { w.resume(throwing: ended) }
    }
}
