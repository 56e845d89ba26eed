import Foundation
import XCTest

/// Runs the built `ember` (and `perf`, and test programs) as child processes, as a user would.
enum Tool {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The built `ember`, or `$EMBER` (a sanitizer build, say).
    static var emberPath: String {
        ProcessInfo.processInfo.environment["EMBER"] ?? packageRoot.appendingPathComponent(".build/debug/ember").path
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `executable` with `arguments` and waits; `user` runs it through setpriv as that user, `stdin` is a file
    /// to read from, and a child still running after `timeout` seconds is killed (its status is then 128+9).
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], user: String? = nil, cwd: String? = nil,
                    stdin: String? = nil, timeout: Double = 600) throws -> Result {
        let p = Process()
        if let user {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            p.arguments = ["--reuid=\(user)", "--regid=\(user)", "--clear-groups", "--", executable] + arguments
            // setpriv takes numeric ids for the group; 65534 is nobody/nogroup on Debian.
        } else {
            p.executableURL = URL(fileURLWithPath: executable)
            p.arguments = arguments
        }
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        if let stdin {
            guard let handle = FileHandle(forReadingAtPath: stdin) else { throw CocoaError(.fileNoSuchFile) }
            p.standardInput = handle
        } else {
            p.standardInput = FileHandle.nullDevice
        }
        try p.run()
        let pid = p.processIdentifier
        let killer = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        defer { killer.cancel() }
        // Read both pipes at once so that a chatty child cannot block on a full pipe.
        final class Box: @unchecked Sendable { var data = Data() }
        let outData = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            outData.data = out.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        let status = p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus
        return Result(status: status, stdout: String(decoding: outData.data, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    @discardableResult
    static func ember(_ arguments: [String], user: String? = nil, cwd: String? = nil, stdin: String? = nil,
                      timeout: Double = 600) throws -> Result {
        try run(emberPath, arguments, user: user, cwd: cwd, stdin: stdin, timeout: timeout)
    }

    @discardableResult
    static func perf(_ arguments: [String], stdin: String? = nil) throws -> Result {
        try run("/usr/bin/perf", arguments, stdin: stdin)
    }

    /// `hz`, or the kernel's current `perf_event_max_sample_rate` when that is lower: the kernel lowers it while
    /// tests run when sampling interrupts take too long.
    static func rate(_ hz: Int) -> String {
        let text = (try? String(contentsOfFile: "/proc/sys/kernel/perf_event_max_sample_rate", encoding: .utf8)) ?? ""
        return String(min(hz, Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? hz))
    }

    /// Starts `ember record` in the background and waits until its first round of records is on disk.
    static func startRecording(_ arguments: [String], output: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: emberPath)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
            if size > 16384 { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return p
    }

    /// The children of a process, from the parent pid in each `/proc/PID/stat` (this kernel has no
    /// `/proc/PID/task/TID/children`).
    static func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { candidate in
            guard let stat = try? String(contentsOfFile: "/proc/\(candidate)/stat", encoding: .utf8),
                  let close = stat.range(of: ")", options: .backwards) else { return false }
            let fields = stat[close.upperBound...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == pid
        }
    }

    /// A fresh scratch directory, world-writable so that tests running as `nobody` can use it; all of them are
    /// removed when the test process exits.
    static func scratchDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ember-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o777])
        if scratchDirectories.isEmpty {
            atexit { for d in Tool.scratchDirectories { try? FileManager.default.removeItem(atPath: d) } }
        }
        scratchDirectories.append(dir.path)
        return dir.path
    }

    nonisolated(unsafe) static var scratchDirectories: [String] = []

    /// The demo workload: `EMBER_DEMO` (set by `make test`), or built here with gcc.
    static func demo() throws -> String {
        if let path = ProcessInfo.processInfo.environment["EMBER_DEMO"], FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        return try compileC(source: packageRoot.appendingPathComponent("Demo/demo.c").path, name: "demo",
                            flags: ["-O2", "-g", "-fno-omit-frame-pointer"])
    }

    /// Builds Tests/Programs/sorter.swift with `swiftc -O -g` into a scratch directory; skips when swiftc fails.
    static func sorter() throws -> String {
        let binary = try scratchDirectory() + "/sorter"
        let source = packageRoot.appendingPathComponent("Tests/Programs/sorter.swift").path
        let build = try run("/usr/bin/env", ["swiftc", "-O", "-g", "-module-name", "swiftwork", "-o", binary, source])
        guard build.status == 0 else { throw XCTSkip("swiftc failed: \(build.stderr)") }
        return binary
    }

    /// A copy of the demo built in a scratch directory and a short recording of it, for tests that then change
    /// or break the binary.
    static func recordedDemoCopy() throws -> (binary: String, recording: String) {
        let dir = try scratchDirectory()
        let binary = dir + "/demo"
        let source = packageRoot.appendingPathComponent("Demo/demo.c").path
        guard try run("/usr/bin/gcc", ["-O2", "-g", "-fno-omit-frame-pointer", "-o", binary, source]).status == 0 else { throw XCTSkip("gcc failed") }
        let recording = dir + "/d.data"
        guard try ember(["record", "-q", "-o", recording, "--", binary, "0.3"]).status == 0 else { throw XCTSkip("recording the demo failed") }
        return (binary, recording)
    }

    /// Builds a C program into a scratch directory.
    static func compileC(source: String, name: String, flags: [String]) throws -> String {
        let output = try scratchDirectory() + "/" + name
        let r = try run("/usr/bin/gcc", flags + ["-o", output, source])
        guard r.status == 0 else { throw XCTSkip("gcc failed: \(r.stderr)") }
        return output
    }
}

/// Skips a test that needs root (kernel samples, other users' processes); CI runs as root.
func requireRoot() throws {
    try XCTSkipUnless(geteuid() == 0, "needs root for perf_event_open with kernel samples; CI runs as root")
}

/// Skips a test that cross-checks with Debian's perf when it is missing (`make deps` installs it).
func requirePerf() throws {
    try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/perf"), "needs Debian's linux-perf (make deps)")
}

/// Skips a test that reads profiles with `go tool pprof` when Go is missing (`make deps` installs golang-go).
func requireGo() throws {
    try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: "/usr/bin/go"), "needs go tool pprof (Debian's golang-go; make deps)")
}

/// Folded stacks parsed into a dictionary.
func parseFolded(_ text: String) -> [String: UInt64] {
    var out: [String: UInt64] = [:]
    for line in text.split(separator: "\n") {
        guard let space = line.lastIndex(of: " "), let w = UInt64(line[line.index(after: space)...]) else { continue }
        out[String(line[..<space]), default: 0] += w
    }
    return out
}

/// Asserts that `actual` folded stacks carry the same total weight as `expected` and that at least `share` of it
/// lands in identical stacks, naming the stacks that differ most.
func assertFoldedAgree(_ expected: [String: UInt64], _ actual: [String: UInt64], share minimum: Double = 0.99,
                       file: StaticString = #filePath, line: UInt = #line) {
    let total = expected.values.reduce(0, +)
    XCTAssertGreaterThan(total, 0, file: file, line: line)
    XCTAssertEqual(actual.values.reduce(0, +), total, "the same total weight", file: file, line: line)
    let agreeing = expected.reduce(UInt64(0)) { sum, entry in sum + min(entry.value, actual[entry.key] ?? 0) }
    let worst = expected.filter { actual[$0.key] != $0.value }.sorted { $0.value > $1.value }.prefix(5)
    XCTAssertGreaterThanOrEqual(Double(agreeing) / Double(max(total, 1)), minimum,
                                "stacks that differ most: \(worst.map { "\($0.key) \($0.value)" })", file: file, line: line)
}

/// The first five rows of a `perf report --stdio` style report, words joined by one space; perf ends each row with
/// its (empty) call-graph columns, "- -", which go.
func reportRows(_ text: String) -> [String] {
    text.split(separator: "\n").filter { $0.contains("%") && !$0.hasPrefix("#") }.prefix(5)
        .map { $0.split(separator: " ").filter { $0 != "-" }.joined(separator: " ") }
}

/// `count` numbers in no order, one a line, for sort and gzip to work on.
func writeNumbers(_ count: Int, to path: String) throws {
    try (0..<count).map { String(($0 &* 7919) % 1_000_003) }.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
}
