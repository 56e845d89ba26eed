import HummingbirdCore
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// At most `limit` connections at once: while this says no, Hummingbird's AvailableConnectionsChannelHandler stops
/// asking the listening socket for more, and new connections wait in the kernel's listen queue (no descriptor).
/// Reaching the limit is said in one line, at most once a minute.
struct ConnectionCap: AvailableConnectionsDelegate {
    let limit: Int
    let report: @Sendable (String) -> Void
    private var count = 0
    private var full = false
    private var saidAt: ContinuousClock.Instant?

    init(limit: Int, report: @escaping @Sendable (String) -> Void) {
        self.limit = limit
        self.report = report
    }

    mutating func connectionOpened() {
        count += 1
        guard count >= limit, !full else { return }
        full = true
        let now = ContinuousClock.now
        if let saidAt, now - saidAt < .seconds(60) { return }
        saidAt = now
        report("\(limit) connections open, the most the agent holds at once; new ones wait until one closes")
    }

    mutating func connectionClosed() {
        count -= 1
        if count < limit { full = false }
    }

    func isAcceptingNewConnections() -> Bool { count < limit }
}

/// accept() that fails for want of descriptors (EMFILE, ENFILE) or memory leaves the connection queued, so the
/// listening socket stays readable; NIO keeps its read pending (the socket stays in epoll, level-triggered), so the
/// event loop wakes at once and fails again: a spin at full CPU. NIO's AcceptBackoffHandler, which ServerBootstrap
/// installs, only delays the next read(), and none comes while one is pending. This takes the socket out of epoll
/// (autoRead off) for `pause`, then tries again; it says so once.
final class AcceptPause: ChannelInboundHandler {
    typealias InboundIn = Channel
    private let pause: TimeAmount
    private let report: @Sendable (String) -> Void
    private var resume: Scheduled<Void>?
    private var said = false

    init(pause: TimeAmount = .milliseconds(500), report: @escaping @Sendable (String) -> Void) {
        self.pause = pause
        self.report = report
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let failure = error as? IOError, [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(failure.errnoCode),
           let options = context.channel.syncOptions {
            // Off takes the socket out of epoll. A read re-armed while paused (a connection closing at the cap
            // calls read()) registers it again: on and off once more undoes that.
            if resume != nil { try? options.setOption(.autoRead, value: true) }
            try? options.setOption(.autoRead, value: false)
            if resume == nil {
                resume = context.eventLoop.assumeIsolated().scheduleTask(in: pause) {
                    self.resume = nil
                    _ = try? context.channel.syncOptions?.setOption(.autoRead, value: true)
                }
            }
            if !said {
                said = true
                report("cannot accept a connection: \(String(cString: strerror(failure.errnoCode)).lowercased()); trying again every "
                       + "\(Double(pause.nanoseconds) / 1e9) s until some close (raise ulimit -n or lower --max-connections)")
            }
        }
        context.fireErrorCaught(error)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        resume?.cancel()
        resume = nil
    }
}
