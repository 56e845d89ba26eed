import CEmberShim
import EmberKernel
#if canImport(Glibc)
import Glibc
#endif

/// Where the recorder sleeps: an epoll set of the ring buffers (woken at their watermark) and a signalfd for
/// SIGINT, SIGTERM, SIGHUP and SIGCHLD, and for a flight recording SIGUSR2.
final class EventWaiter {
    private let signalFD: Int32
    private let epollFD: Int32
    private var ready = [Int32](repeating: 0, count: 64)
    private var readyEvents = [UInt32](repeating: 0, count: 64)

    /// `also`: other fds that wake the recorder when readable (a `FlightControl`'s eventfd); they stay in the set.
    /// Without `signals` (a recording inside another program, whose signals are its own), there is no signalfd.
    init(rings: [RingBuffer], snapshots: Bool = false, signals: Bool = true, also: [Int32] = []) throws {
        signalFD = signals ? ember_signalfd(snapshots ? 1 : 0) : -1
        guard signalFD >= 0 || !signals else { throw RecordError.system("signalfd", Errno.current) }
        epollFD = ember_epoll_create()
        guard epollFD >= 0 else {
            let e = Errno.current
            if signalFD >= 0 { close(signalFD) }
            throw RecordError.system("epoll_create1", e)
        }
        guard signalFD < 0 || ember_epoll_add(epollFD, signalFD) == 0, rings.allSatisfy({ ember_epoll_add(epollFD, $0.event.fd) == 0 }),
              also.allSatisfy({ ember_epoll_add(epollFD, $0) == 0 }) else {
            let e = Errno.current
            if signalFD >= 0 { close(signalFD) }
            close(epollFD)
            throw RecordError.system("epoll_ctl", e)
        }
    }

    deinit {
        if signalFD >= 0 { close(signalFD) }
        close(epollFD)
    }

    /// Sleeps until a ring reaches its watermark, a signal arrives, or `timeoutMS` passes. A ring whose task has
    /// exited reports a hang-up on every wait from then on; it leaves the set (its remaining records are still
    /// drained with the others), so that the recorder does not spin.
    func wait(timeoutMS: Int) {
        let n = ember_epoll_wait(epollFD, &ready, &readyEvents, Int32(ready.count), Int32(timeoutMS))
        guard n > 0 else { return }
        for i in 0..<Int(n) where ready[i] != signalFD && readyEvents[i] & UInt32(EMBER_EPOLL_HANGUP) != 0 {
            _ = ember_epoll_del(epollFD, ready[i])
        }
    }

    /// The next pending SIGINT/SIGTERM/SIGHUP/SIGCHLD (or SIGUSR2), or nil.
    func nextSignal() -> Int32? {
        guard signalFD >= 0 else { return nil }
        let s = ember_signalfd_next(signalFD)
        return s == 0 ? nil : s
    }
}
