import Foundation
import XCTest

/// Ember on a second kernel: Debian's cloud kernel (6.1, with kprobes, which the host's kernel lacks) booted under
/// qemu by `Tests/Guest/boot.sh`, running the checks of `Tests/Guest/init.sh`. One boot serves every case; each case
/// asserts the check of its name. Without qemu or the unpacked kernel (`make guest-kernel`), they skip.
final class GuestTests: XCTestCase {
    struct Check {
        var passed: Bool
        var detail: String
    }

    enum Boot {
        case unavailable(String)
        case failed(String)
        case ran([String: Check])
    }

    nonisolated(unsafe) static var boot: Boot?

    /// Boots the guest once, and reads its check lines (`EMBER-GUEST name PASS|FAIL detail`).
    static func results() throws -> [String: Check] {
        if boot == nil { boot = bootGuest() }
        switch boot! {
        case .unavailable(let reason): throw XCTSkip(reason)
        case .failed(let reason): throw GuestFailed(reason: reason)
        case .ran(let checks): return checks
        }
    }

    private static func bootGuest() -> Boot {
        guard let kernel = ProcessInfo.processInfo.environment["EMBER_GUEST_KERNEL"],
              FileManager.default.fileExists(atPath: kernel + "/boot") else {
            return .unavailable("EMBER_GUEST_KERNEL names no unpacked kernel: run `make guest-kernel` and set it, as `make test` does")
        }
        for tool in ["/usr/bin/qemu-system-x86_64", "/bin/busybox", "/usr/bin/cpio"] where !FileManager.default.isExecutableFile(atPath: tool) {
            return .unavailable("\(tool) is missing: `make deps` installs qemu-system-x86, busybox-static and cpio")
        }
        let out: String
        let boot: Tool.Result
        do {
            out = try Tool.scratchDirectory()
            let script = Tool.packageRoot.appendingPathComponent("Tests/Guest/boot.sh").path
            boot = try Tool.run("/bin/sh", [script, kernel, Tool.emberPath, out])
        } catch {
            return .failed("boot.sh did not run: \(error)")
        }
        let console = (try? String(contentsOfFile: out + "/console.log", encoding: .utf8)) ?? ""
        guard console.contains("EMBER-GUEST-DONE") else {
            return .failed("the guest did not finish its checks (boot.sh status \(boot.status), \(boot.stderr)); its console ended with: \(console.suffix(1500))")
        }
        var checks: [String: Check] = [:]
        for line in console.split(whereSeparator: \.isNewline) {
            guard let start = line.range(of: "EMBER-GUEST ") else { continue }
            let fields = line[start.upperBound...].split(separator: " ", maxSplits: 2)
            guard fields.count >= 2 else { continue }
            checks[String(fields[0])] = Check(passed: fields[1] == "PASS", detail: fields.count > 2 ? String(fields[2]) : "")
        }
        return .ran(checks)
    }

    private func assertCheck(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let checks = try GuestTests.results()
        let check = try XCTUnwrap(checks[name], "the guest ran no check named \(name)", file: file, line: line)
        XCTAssertTrue(check.passed, "\(name) in the guest: \(check.detail)", file: file, line: line)
    }

    /// The guest runs the kernel it was meant to: Debian's 6.1 cloud kernel, beside the host's.
    func testKernel() throws {
        try assertCheck("kernel")
        XCTAssertTrue(try GuestTests.results()["kernel"]?.detail.hasPrefix("6.1.") == true)
    }

    /// `-e kprobe:__x64_sys_getppid` on a program that calls getppid 4321 times records exactly 4321 samples.
    func testKprobeCount() throws { try assertCheck("kprobeCount") }

    /// The kretprobe of the same function, on 1234 calls: exactly 1234.
    func testKretprobeCount() throws { try assertCheck("kretprobeCount") }

    /// `-g` through a kprobe: the kernel's call chain, syscall entry to the probed function.
    func testKprobeCallChain() throws { try assertCheck("kprobeCallChain") }

    /// `-a` with a kprobe: exactly the workload's 321 calls (nothing else in the guest calls getppid).
    func testKprobeAllCPUs() throws { try assertCheck("kprobeAllCPUs") }

    /// A kprobe and a kretprobe sharing the rings: 200 of each.
    func testKprobePair() throws { try assertCheck("kprobePair") }

    /// `kprobe:FUNC+OFFSET`, 5 bytes in (past the call to __fentry__): exactly 99.
    func testKprobeOffset() throws { try assertCheck("kprobeOffset") }

    /// `--filter` on a kprobe: the kernel applies it (on the common fields), keeping all 5 calls or none.
    func testKprobeFilter() throws { try assertCheck("kprobeFilter") }

    /// A kprobe's samples carry the registers at the probe, and `script` prints the arguments by the calling
    /// convention: do_sys_openat2's first, the AT_FDCWD of cat's openat (-100 as a 32-bit int: 4294967196).
    func testKprobeArguments() throws { try assertCheck("kprobeArguments") }

    /// A kretprobe's `ret=` is AX at the return: getppid in the workload returns the recorder's pid, every time.
    func testKretprobeReturn() throws { try assertCheck("kretprobeReturn") }

    /// `ember list --kprobes GLOB` lists the functions that take kprobes: __do_sys_getppid is there.
    func testKprobeList() throws { try assertCheck("kprobeList") }

    /// A kprobe on a function the kernel does not have fails (status 1) with an error naming it.
    func testKprobeMissing() throws { try assertCheck("kprobeMissing") }

    /// A kprobe on a blacklisted function fails with an error that says so, and the list leaves it out.
    func testKprobeBlacklisted() throws { try assertCheck("kprobeBlacklisted") }

    /// `ember latency --kfunc`: kprobe and kretprobe paired per thread, as `--func` pairs uprobes; the JSON row of
    /// kind `kfunction` counts the sleeper's 260 clock_nanosleep calls, the longest at least 20 ms.
    func testKernelFunctionLatency() throws { try assertCheck("kfuncLatency") }

    /// `ember latency --sched` measured in the kernel by the `runqueue` BPF program on another kernel than the one
    /// it was built on (CO-RE against 6.1's BTF): the JSON says `"source": "bpf"` and has the demo's row.
    func testInKernelRunQueueOnAnotherKernel() throws { try assertCheck("inKernelRunQueue") }

    /// The syscalls:sys_enter_getppid tracepoint on 6.1: exactly 777.
    func testTracepointCount() throws { try assertCheck("tracepointCount") }

    /// A uprobe on a static binary's function called 555 times: exactly 555.
    func testUprobeCount() throws { try assertCheck("uprobeCount") }

    /// cpu-clock with frame-pointer call chains on 6.1: the demo's spin_primes under main.
    func testCPUClockCallGraph() throws { try assertCheck("cpuClockCallGraph") }
}

/// The guest booted but did not run its checks to the end.
struct GuestFailed: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}
