#if canImport(Glibc)
import Glibc
#endif

/// The signal set-up of a recording. SIGINT, SIGTERM, SIGHUP and SIGCHLD are blocked (they arrive through a signalfd)
/// from before the workload is forked until the file is finished; SIGPIPE is ignored so that a workload dying
/// early turns into an EPIPE instead of killing the recorder; SIGCHLD gets its default disposition back, since an
/// inherited SIG_IGN would reap the workload before Ember could see its status.
public final class SignalGuard {
    private var blocked = sigset_t()
    private var previousMask = sigset_t()
    private let previousPipe: __sighandler_t?
    private let previousChild: __sighandler_t?
    private var restored = false

    /// `snapshots`: SIGUSR2 asks a flight recording for a snapshot, so it is blocked (and read) too. Not `active`
    /// (a recording inside another program), it changes nothing.
    public init(snapshots: Bool = false, active: Bool = true) {
        guard active else {
            previousPipe = nil
            previousChild = nil
            restored = true
            return
        }
        sigemptyset(&blocked)
        for s in [SIGINT, SIGTERM, SIGHUP, SIGCHLD] + (snapshots ? [SIGUSR2] : []) { sigaddset(&blocked, s) }
        sigprocmask(SIG_BLOCK, &blocked, &previousMask)
        previousPipe = signal(SIGPIPE, SIG_IGN)
        previousChild = signal(SIGCHLD, SIG_DFL)
    }

    /// Consumes signals still pending (a second Ctrl-C during the final drain must not kill Ember once the mask
    /// is lifted) and puts the previous set-up back.
    public func restore() {
        guard !restored else { return }
        restored = true
        var none = timespec(tv_sec: 0, tv_nsec: 0)
        while sigtimedwait(&blocked, nil, &none) > 0 {}
        signal(SIGPIPE, previousPipe)
        signal(SIGCHLD, previousChild)
        sigprocmask(SIG_SETMASK, &previousMask, nil)
    }

    deinit { restore() }
}
