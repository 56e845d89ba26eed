import Foundation
import XCTest

/// `ember script` prints tracepoints with each event's print format, line for line as `perf script` does.
final class TracepointTextTests: XCTestCase {
    /// Events whose formats use what the kernel's formats use: `__print_flags` and `==>` (sched_switch),
    /// `__print_symbolic`, `%pS`/`%ps` kernel symbols, `%03d`, `0x%08lx`, arrays (`REC->args[0]`), unsigned
    /// comparisons (vm_unmapped_area), constant kernel strings (rcu_utilization) and IP addresses (`%pI6c`,
    /// `%pISpc`).
    private let events = ["sched:sched_switch", "sched:sched_wakeup", "sched:sched_process_exec", "sched:sched_process_fork",
                          "sched:sched_process_exit", "irq:softirq_entry", "timer:hrtimer_start", "timer:hrtimer_expire_entry",
                          "kmem:kmalloc", "kmem:kfree", "kmem:mm_page_alloc", "raw_syscalls:sys_enter", "syscalls:sys_exit_read",
                          "signal:signal_generate", "rcu:rcu_utilization", "mmap:vm_unmapped_area", "sock:inet_sock_set_state",
                          "tcp:tcp_probe"]

    func testTracepointsPrintAsPerfPrintsThem() throws {
        try requireRoot()
        try requirePerf()
        let file = try Tool.scratchDirectory() + "/tp.data"
        let workload = """
            ls /usr/bin > /dev/null; sleep 5 & kill $!
            python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); c = socket.create_connection(s.getsockname()); a, _ = s.accept(); c.sendall(b"x" * 200000); a.recv(1000)'
            """
        let rec = try Tool.perf(["record", "-a", "-o", file] + events.flatMap { ["-e", $0] } + ["--", "sh", "-c", workload])
        XCTAssertEqual(rec.status, 0, rec.stderr)
        let perf = lines(try Tool.perf(["script", "-i", file, "-F", "event,trace"]).stdout)
        let ember = lines(try Tool.ember(["script", "-i", file, "-F", "event,trace"]).stdout)
        XCTAssertGreaterThan(perf.count, 1000)
        XCTAssertEqual(ember.count, perf.count)
        let differing = zip(perf, ember).filter { $0 != $1 }
        XCTAssertTrue(differing.isEmpty, "\(differing.count) of \(perf.count) lines differ; first: \(differing.prefix(3))")
        let seen = Set(perf.map { $0.split(separator: ":").prefix(2).joined(separator: ":") })
        for wanted in ["sched:sched_switch", "rcu:rcu_utilization", "tcp:tcp_probe", "kmem:kmalloc"] {
            XCTAssertTrue(seen.contains(wanted), "the workload hit \(wanted)")
        }
        XCTAssertTrue(ember.contains { $0.contains("==> next_comm=") && $0.contains("prev_state=S") })
        XCTAssertTrue(ember.contains { $0.contains("src=127.0.0.1:") }, "tcp_probe's %pISpc")

        // The whole line: no period column for tracepoints, and no blank line after events without call chains.
        let full = try Tool.ember(["script", "-i", file]).stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(full.count, perf.count)
        XCTAssertFalse(full.contains { $0.isEmpty })
        XCTAssertTrue(full.allSatisfy { $0.range(of: #"^\S.* +\d+/\d+ +\[\d{3}\] +\d+\.\d{6}: +[a-z_0-9]+:[a-z_0-9]+: "#, options: .regularExpression) != nil },
                      String(full.first ?? ""))
    }

    /// perf's recordings without -a carry no CPU in their samples: no `[cpu]` column, as in perf.
    func testNoCPUColumnWithoutTheCPU() throws {
        try requireRoot()
        try requirePerf()
        let file = try Tool.scratchDirectory() + "/nocpu.data"
        XCTAssertEqual(try Tool.perf(["record", "-e", "cpu-clock", "-o", file, "--", try Tool.demo(), "0.2"]).status, 0)
        let perf = try Tool.perf(["script", "-i", file]).stdout
        let ember = try Tool.ember(["script", "-i", file]).stdout
        XCTAssertFalse(perf.isEmpty)
        XCTAssertNil(perf.range(of: #"\[\d{3}\]"#, options: .regularExpression), "perf shows no CPU")
        XCTAssertNil(ember.range(of: #"\[\d{3}\]"#, options: .regularExpression), String(ember.prefix(200)))
        XCTAssertTrue(ember.contains("cpu-clock"))
    }

    private func lines(_ text: String) -> [String] {
        text.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
    }
}
