// Running one child process: posix_spawnp + wait4, timed on CLOCK_MONOTONIC.
//
// Peak RSS: wait4's ru_maxrss is not usable on its own. glibc's posix_spawn
// uses CLONE_VM|CLONE_VFORK, and at execve Linux folds the high-water RSS of
// the mm being left (ours, ~20 MiB for a Swift+Foundation binary) into the
// child's maxrss. So when /usr/bin/time exists the child runs under
// `/usr/bin/time -f %M -o FILE`, which fork()s from a ~1 MiB process and
// reports the grandchild's ru_maxrss; that costs ~1 ms of wall time per run.
// Without /usr/bin/time the wait4 figure is used and is only an upper bound.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation

/// Where a child's stdout or stderr goes.
enum Sink {
    case devNull
    /// Truncated and written; read it back after the child exits.
    case file(String)
}

/// The outcome of one child process that was started.
struct RunResult {
    var argv: [String]
    /// Exit code if the child exited, otherwise nil (killed by `signal`).
    var exitCode: Int32?
    var signal: Int32?
    var wallSeconds: Double
    /// ru_maxrss of the child in KiB. Linux folds in the peak of the child's
    /// own reaped children, so for `perf record -- demo` this is
    /// max(perf, demo).
    var maxRSSKiB: Int
    /// False when maxRSSKiB came from wait4 and may include our own RSS.
    var rssIsExact: Bool
    var stderrText: String

    var succeeded: Bool { exitCode == 0 }

    /// A one-line description of why the run failed, with the tail of stderr.
    var failureDescription: String {
        let how: String
        if let code = exitCode { how = "exited with status \(code)" }
        else { how = "killed by signal \(signal ?? 0)" }
        let tail = stderrText.split(separator: "\n", omittingEmptySubsequences: true)
            .suffix(3).joined(separator: " | ")
        return "`\(argv.joined(separator: " "))` \(how)" + (tail.isEmpty ? "" : ": \(tail)")
    }
}

enum BenchError: Error, CustomStringConvertible {
    case spawnFailed(argv: [String], errno: Int32)
    case failed(RunResult)
    case message(String)

    var description: String {
        switch self {
        case .spawnFailed(let argv, let err):
            return "cannot run `\(argv.first ?? "")`: \(String(cString: strerror(err)))"
        case .failed(let result):
            return result.failureDescription
        case .message(let text):
            return text
        }
    }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Runs `argv` to completion. stdin is /dev/null. stderr always goes to a
/// scratch file (`stderrPath`) so summary lines can be parsed; it is read back
/// into `RunResult.stderrText`. Throws only if the child could not be started;
/// a non-zero exit is reported through the result.
func runChild(_ argv: [String], stdout: Sink = .devNull, stderrPath: String) throws -> RunResult {
    precondition(!argv.isEmpty)
    let rssPath = stderrPath + ".rss"
    let wrapped = timeWrapperAvailable
    let spawnArgv = wrapped ? [timeWrapper, "-f", "%M", "-o", rssPath, "--"] + argv : argv
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    let truncate = O_WRONLY | O_CREAT | O_TRUNC
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    switch stdout {
    case .devNull:
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    case .file(let path):
        posix_spawn_file_actions_addopen(&actions, 1, path, truncate, 0o644)
    }
    posix_spawn_file_actions_addopen(&actions, 2, stderrPath, truncate, 0o644)

    // Build argv and envp as C strings; freed after the spawn.
    let cArgs: [UnsafeMutablePointer<CChar>?] = spawnArgv.map { strdup($0) } + [nil]
    let cEnv: [UnsafeMutablePointer<CChar>?] =
        ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
        for p in cArgs { free(p) }
        for p in cEnv { free(p) }
    }

    var pid: pid_t = 0
    let start = monotonicSeconds()
    let rc = cArgs.withUnsafeBufferPointer { argvBuf in
        cEnv.withUnsafeBufferPointer { envBuf in
            posix_spawnp(&pid, spawnArgv[0], &actions, nil,
                         UnsafeMutablePointer(mutating: argvBuf.baseAddress!),
                         UnsafeMutablePointer(mutating: envBuf.baseAddress!))
        }
    }
    if rc != 0 { throw BenchError.spawnFailed(argv: argv, errno: rc) }

    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 {
        if errno != EINTR { throw BenchError.message("wait4 failed: \(String(cString: strerror(errno)))") }
    }
    let wall = monotonicSeconds() - start

    // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift cannot import.
    var termSignal = status & 0x7f
    var exitCode: Int32? = termSignal == 0 ? (status >> 8) & 0xff : nil
    let stderrText = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
    var rss = Int(usage.ru_maxrss)
    var exact = false
    if wrapped {
        // The file holds "%M", preceded by "Command exited with non-zero status N"
        // or "Command terminated by signal N" when the command failed.
        let text = (try? String(contentsOfFile: rssPath, encoding: .utf8)) ?? ""
        unlink(rssPath)
        let lines = text.split(separator: "\n")
        if let last = lines.last, let kib = Int(last) { rss = kib; exact = true }
        if let line = lines.first(where: { $0.hasPrefix("Command terminated by signal ") }),
           let sig = Int32(line.split(separator: " ").last ?? "") {
            termSignal = sig
            exitCode = nil
        }
        if exitCode == 127, stderrText.contains("cannot run") {
            let why = stderrText.split(separator: "\n").last(where: { $0.contains("cannot run") }) ?? ""
            throw BenchError.message("cannot run `\(argv[0])` (\(why))")
        }
    }
    return RunResult(argv: argv, exitCode: exitCode, signal: termSignal == 0 ? nil : termSignal,
                     wallSeconds: wall, maxRSSKiB: rss, rssIsExact: exact, stderrText: stderrText)
}

private let timeWrapper = "/usr/bin/time"
private let timeWrapperAvailable = access(timeWrapper, X_OK) == 0

/// How peak RSS is measured, for the report header.
var rssMethod: String {
    timeWrapperAvailable
        ? "peak RSS via /usr/bin/time -f %M (adds ~1 ms per run)"
        : "peak RSS via wait4 ru_maxrss (upper bound: includes EmberBench's own ~20 MiB; install GNU time)"
}

/// Runs `argv` and throws unless it exits 0.
@discardableResult
func runChecked(_ argv: [String], stdout: Sink = .devNull, stderrPath: String) throws -> RunResult {
    let result = try runChild(argv, stdout: stdout, stderrPath: stderrPath)
    guard result.succeeded else { throw BenchError.failed(result) }
    return result
}
