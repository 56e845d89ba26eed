import Foundation
import XCTest

/// `ember latency --sched` without `-o`, measured in the kernel by Ember's `runqueue` BPF program: against the
/// kernel's own schedstat totals, through a command's children, for running processes, and the fallback to
/// recording events where BPF cannot be loaded.
final class InKernelLatencyTests: XCTestCase {
    /// The report's source and its per-thread sched rows: tid -> (pid, count, total ns).
    private func threadRows(_ json: String) throws -> (source: String, rows: [Int: (pid: Int, count: Int, total: Double)]) {
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], json)
        var out: [Int: (Int, Int, Double)] = [:]
        for row in try XCTUnwrap(object["rows"] as? [[String: Any]]) where row["kind"] as? String == "sched" {
            guard let tid = row["tid"] as? Int else { continue }
            out[tid] = (row["pid"] as? Int ?? 0, row["count"] as? Int ?? 0, (row["total_ns"] as? NSNumber)?.doubleValue ?? 0)
        }
        return (object["source"] as? String ?? "", out)
    }

    /// Four CPU hogs on two cores, started by a shell (a fork the program must follow): each thread's run-queue
    /// total agrees with its schedstat run delay within 5%, and nothing is written.
    func testRunQueueDelayMeasuredInTheKernelAgreesWithSchedstat() throws {
        try requireRoot()
        let hogs = try Hogs.program()
        let dir = try Tool.scratchDirectory()
        let truth = dir + "/schedstat.txt"
        let r = try Tool.ember(["latency", "--sched", "--per-thread", "--json", "--", "/bin/sh", "-c", "\"$0\" 4 300 \"$1\"; true", hogs, truth], cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let (source, rows) = try threadRows(r.stdout)
        XCTAssertEqual(source, "bpf", r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["schedstat.txt"], "in-kernel measurement records nothing")
        try Hogs.assertTotalsAgree(rows.mapValues(\.total), truth: truth, threads: 4, output: r.stdout)
        let text = try Tool.ember(["latency", "--sched", "--hist", "--", hogs, "2", "100", dir + "/again.txt"], cwd: dir)
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.hasPrefix("# measured in the kernel by a BPF program, nothing recorded: "), text.stdout)
        XCTAssertTrue(text.stdout.contains(" hogs ") && text.stdout.contains("usecs"), text.stdout)
    }

    /// `-p`: the threads of a running process, and no other process's.
    func testInKernelMeasurementOfARunningProcess() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let running = Process()
        running.executableURL = URL(fileURLWithPath: try Hogs.program())
        running.arguments = ["3", "3000", dir + "/truth.txt"]
        try running.run()
        defer { running.terminate(); running.waitUntilExit() }
        Thread.sleep(forTimeInterval: 0.3)
        let pid = Int(running.processIdentifier)
        let r = try Tool.ember(["latency", "--sched", "--per-thread", "--json", "-p", "\(pid)", "--duration", "1"], cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let (source, rows) = try threadRows(r.stdout)
        XCTAssertEqual(source, "bpf", r.stderr)
        XCTAssertEqual(Set(rows.values.map(\.pid)), [pid], r.stdout)
        // Three hogs on two cores for a second wait for a CPU many times each.
        XCTAssertGreaterThanOrEqual(rows.values.filter { $0.count >= 20 }.count, 3, r.stdout)
    }

    /// Without the privileges to load BPF, it says so and records the events instead (here, unprivileged, that
    /// fails too, with its own reason).
    func testWithoutPrivilegesItSaysWhyAndRecordsEvents() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let r = try Tool.ember(["latency", "--sched", "--", "/bin/true"], user: "65534", cwd: dir)
        XCTAssertTrue(r.stderr.contains("recording scheduler events to latency.data: in-kernel measurement is not available (loading a BPF program needs root"), r.stderr)
        XCTAssertNotEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("ember: error:"), r.stderr)
    }
}
