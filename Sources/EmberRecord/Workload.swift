import CEmberShim
import EmberKernel
#if canImport(Glibc)
import Glibc
#endif

/// The command `ember record -- CMD` profiles: forked and held before exec until its events are open, so that
/// `enable_on_exec` starts counting exactly at exec and nothing of Ember's own start-up is sampled.
public final class Workload {
    public let pid: Int32
    /// The command as given, for messages.
    public let command: String
    private var goFD: Int32
    private let errorFD: Int32
    public private(set) var exitStatus: Int32?

    /// Resolves the command like execvp does, so that a missing or non-executable command fails before anything is
    /// recorded, then forks the held child.
    /// `environment` (`NAME=value` entries): the command's whole environment, instead of Ember's (nil).
    /// `stdoutToStderr`: the command's output goes to stderr, as perf does when it records to a pipe.
    public init(arguments: [String], environment: [String]? = nil, stdoutToStderr: Bool = false) throws {
        guard let command = arguments.first else { throw RecordError.commandNotFound("") }
        try Workload.checkExecutable(command)
        self.command = command
        var cArgs: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        var cEnv: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup($0) } + [nil] }
        defer {
            for p in cArgs { free(p) }
            for p in cEnv ?? [] { free(p) }
        }
        var child = ember_stopped_child()
        let spawned = cEnv == nil ? ember_spawn_stopped(&cArgs, nil, stdoutToStderr ? 1 : 0, &child)
            : ember_spawn_stopped(&cArgs, &cEnv!, stdoutToStderr ? 1 : 0, &child)
        guard spawned == 0 else { throw RecordError.system("fork", Errno.current) }
        pid = child.pid
        goFD = child.go_fd
        errorFD = child.error_fd
    }

    deinit {
        if goFD >= 0 { close(goFD) }
        close(errorFD)
    }

    /// Lets the child exec; throws when exec failed (the child then exits 127 or 126) or the child is gone.
    public func start() throws {
        var byte: UInt8 = 1
        let sent = write(goFD, &byte, 1)
        close(goFD)
        goFD = -1
        guard sent == 1 else { throw RecordError.system("starting \(command)", Errno.current) }
        var code: Int32 = 0
        var n: Int
        repeat { n = read(errorFD, &code, 4) } while n < 0 && errno == EINTR
        if n == 4 {
            _ = waitForExit()
            throw code == ENOENT ? RecordError.commandNotFound(command) : RecordError.commandNotExecutable(command, Errno(code))
        }
    }

    /// Kills the held child when recording cannot start.
    public func abandon() {
        if goFD >= 0 { close(goFD); goFD = -1 }
        _ = waitForExit()
    }

    /// Reaps the child if it has exited; returns its status in shell terms.
    public func pollExit() -> Int32? {
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r < 0 && errno == ECHILD {
            // Reaped elsewhere (an inherited SIG_IGN for SIGCHLD): it is gone, its status unknown.
            exitStatus = 0
            return exitStatus
        }
        guard r == pid else { return nil }
        exitStatus = Workload.shellStatus(status)
        return exitStatus
    }

    public func waitForExit() -> Int32 {
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        var r: Int32
        repeat { r = waitpid(pid, &status, 0) } while r < 0 && errno == EINTR
        exitStatus = r == pid ? Workload.shellStatus(status) : 0
        return exitStatus!
    }

    public func terminate() {
        if exitStatus == nil { kill(pid, SIGTERM) }
    }

    private static func shellStatus(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// execvp's search: a name with a slash is used as is, otherwise each PATH entry is tried.
    private static func checkExecutable(_ command: String) throws {
        func check(_ path: String) -> Int32? {
            var st = stat()
            guard stat(path, &st) == 0 else { return ENOENT }
            if st.st_mode & S_IFMT == S_IFDIR { return EACCES }
            return access(path, X_OK) == 0 ? nil : EACCES
        }
        if command.contains("/") {
            if let e = check(command) {
                throw e == ENOENT ? RecordError.commandNotFound(command) : RecordError.commandNotExecutable(command, Errno(e))
            }
            return
        }
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
        var sawDenied = false
        for dir in path.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + command
            switch check(candidate) {
            case nil: return
            case EACCES: sawDenied = true
            default: continue
            }
        }
        throw sawDenied ? RecordError.commandNotExecutable(command, Errno(EACCES)) : RecordError.commandNotFound(command)
    }
}
