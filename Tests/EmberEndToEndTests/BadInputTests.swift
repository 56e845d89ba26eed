import Foundation
import XCTest

/// Every bad input a user will type: one `ember: error:` line that says what to do, the expected exit status
/// (64 for usage errors ArgumentParser finds, 1 for the rest, 127 for a missing command), and nothing left behind.
final class BadInputTests: XCTestCase {
    private struct Case {
        var arguments: [String]
        var status: Int32
        var mentions: String
        init(_ arguments: [String], _ status: Int32, _ mentions: String) {
            self.arguments = arguments
            self.status = status
            self.mentions = mentions
        }
    }

    func testBadInputsGetOneClearLine() throws {
        let dir = try Tool.scratchDirectory()
        let text = dir + "/text.data", overflow = dir + "/overflow.folded"
        try "hello, this is not a recording\n".write(toFile: text, atomically: true, encoding: .utf8)
        try "a;b 18446744073709551615\na;c 1\n".write(toFile: overflow, atomically: true, encoding: .utf8)
        let out = ["-o", dir + "/out.data"]
        XCTAssertEqual(mkfifo(dir + "/fifo", 0o644), 0)
        let cases: [Case] = [
            // Commands and options.
            .init(["scrpit"], 64, "unknown command 'scrpit'; did you mean 'script'?"),
            .init(["record", "--freqency", "99", "--", "/bin/true"], 64, "unknown option '--freqency'; did you mean '--freq'?"),
            .init(["stat", "--evnt", "cs", "--", "/bin/true"], 64, "did you mean '--event'?"),
            .init(["report", "--bogus"], 64, "unknown option '--bogus'"),
            .init(["record", "-g", "dwarf", "--", "/bin/true"], 64, "-g takes no value; for DWARF call graphs use --call-graph dwarf"),
            .init(["record"], 1, "nothing to record; give a command after --, -p PID or -a"),
            // Numbers.
            .init(["record", "-F", "-5"] + out + ["--", "/bin/true"], 1, "-F takes a number of samples per second (at least 1) or max, not '-5'"),
            .init(["record", "-c", "0"] + out + ["--", "/bin/true"], 1, "-c must be from 1 to 2^63-1"),
            .init(["record", "-c", "9223372036854775808"] + out + ["--", "/bin/true"], 64, "'9223372036854775808' is invalid for '-c <count>'"),
            .init(["record", "--duration", "-1"] + out + ["--", "/bin/true"], 1, "--duration must be a positive number of seconds"),
            .init(["record", "-p", "-1"] + out, 1, "'-1' is not a PID"),
            .init(["record", "-p", "999999999", "--duration", "1"] + out, 1, "no process with PID 999999999"),
            .init(["record", "-m", "2097152"] + out + ["--", "/bin/true"], 1, "give a power of two from 1 to 1048576 pages"),
            .init(["record", "-m", "3"] + out + ["--", "/bin/true"], 1, "-m 3 is not a power of two"),
            .init(["record", "--call-graph", "dwarf", "-m", "1"] + out + ["--", "/bin/true"], 1, "too small for --call-graph dwarf,8192"),
            .init(["record", "--call-graph", "dwarf,100"] + out + ["--", "/bin/true"], 1, "a multiple of 8 from 8 to 65528"),
            .init(["record", "--call-graph", "lbr"] + out + ["--", "/bin/true"], 1, "call-graph mode 'lbr' is not supported"),
            .init(["flamegraph", "--width", "-5"], 64, "--width must be 100 pixels or more (got -5)"),
            .init(["flamegraph", "--flamechart", "--count"], 64, "--flamechart draws time, not weights; drop --count"),
            .init(["agent", "--otlp", "127.0.0.1:1", "--otlp-header", "X Y=z"], 1, "--otlp-header takes NAME=VALUE (a header name, a value on one line)"),
            .init(["agent", "--otlp", "127.0.0.1:1", "--label", "host.name=y"], 1, "--label host.name is an attribute Ember sets itself with --otlp"),
            .init(["agent", "--otlp-header", "A=b"], 64, "--otlp-header goes with --otlp URL"),
            .init(["flamegraph", "--flamechart", "--inverted"], 64, "--flamechart hangs each thread's stacks from its name already; drop --inverted"),
            .init(["report", "--limit", "-1"], 64, "--limit must be at least 1 (got -1)"),
            .init(["report", "--percent-limit", "150"], 64, "--percent-limit must be from 0 to 100"),
            // Events and probes.
            .init(["record", "-e", "bogus-event"] + out + ["--", "/bin/true"], 1, "unknown event 'bogus-event'"),
            .init(["record", "-e", "sched:sched_switch", "--filter", "prev_pid == 1", "--filter", "next_pid == 2"] + out + ["--", "/bin/true"],
                  1, "a second --filter for sched:sched_switch"),
            .init(["record", "-e", "uprobe:libc:no_such_function_ember"] + out + ["--", "/bin/true"], 1, "has no function 'no_such_function_ember'"),
            .init(["list", "--probes", dir], 1, "it is a directory; give an ELF binary or library"),
            // Commands to run.
            .init(["record"] + out + ["--", "no-such-command-ember-test"], 127, "command not found: no-such-command-ember-test"),
            // Files.
            .init(["record", "-o", "/dev/full", "--", "/bin/true"], 1, "/dev/full is a device, not a regular file"),
            .init(["record", "-o", "/dev/null", "--", "no-such-command-ember-test"], 1, "/dev/null is a device"),
            .init(["record", "-o", "/proc/version", "--", "/bin/true"], 1, "the file system does not allow new files there"),
            .init(["record", "-o", dir, "--", "/bin/true"], 1, "is a directory, not a regular file"),
            .init(["flamegraph", "-i", text, "-o", "/dev/null"], 1, "/dev/null is a device"),
            .init(["script", "-i", dir + "/missing.data"], 1, "cannot open"),
            .init(["script", "-i", "-"], 1, "standard input is empty"),
            .init(["script", "-i", dir + "/fifo"], 1, "not a regular file (use -i - to read a pipe)"),
            .init(["record", "-e", "uprobe:\(dir)/fifo:f"] + out + ["--", "/bin/true"], 1, "it is not a regular file"),
            .init(["collapse", "-i", text], 1, "not a perf.data file"),
            .init(["flamegraph", "--folded", overflow, "-o", dir + "/x.svg"], 1, "the weights add up past 2^64-1"),
            .init(["flamegraph", "--folded", text, "-o", dir + "/x.svg"], 1, "no folded stacks"),
            // Comparing, slicing, exporting.
            .init(["flamegraph", "--diff", overflow, "-o", dir + "/x.svg"], 64, "--diff takes two profiles, BEFORE and AFTER (got 1)"),
            .init(["flamegraph", "--negate", "--folded", overflow, "-o", dir + "/x.svg"], 64, "--negate and --no-normalize go with --diff"),
            .init(["report", "--diff", text, text, "-g", "caller"], 64, "--diff compares entries; it prints no call graph"),
            .init(["report", "--diff", text, dir + "/missing.data"], 1, "not a perf.data file"),
            .init(["script", "--time", "10%/20", "-i", text], 1, "not a perf.data file"),
            .init(["annotate", "-i", text], 1, "not a perf.data file"),
            .init(["annotate", "--source-only", "--asm-only", "-i", text], 64, "--source-only and --asm-only leave nothing to print together"),
            .init(["annotate", "-M", "arm", "-i", text], 64, "'arm' is invalid for '-M <disassembler-style>'"),
            .init(["export", "--format", "chrome"], 64, "'chrome' is invalid for '--format <format>'"),
            .init(["export", "-i", text], 64, "missing expected argument '--format <format>'"),
            .init(["export", "--format", "speedscope", "-i", text, "-o", dir + "/x.json"], 1, "not a perf.data file"),
        ]
        for c in cases {
            let r = try Tool.ember(c.arguments, cwd: dir, timeout: 60)
            let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("ember: error:") }
            XCTAssertEqual(r.status, c.status, "\(c.arguments): \(r.stderr)")
            XCTAssertEqual(errors.count, 1, "\(c.arguments): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(c.mentions), "\(c.arguments): '\(c.mentions)' not in \(r.stderr)")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        XCTAssertEqual(left, ["fifo", "overflow.folded", "text.data"], "a failed command leaves nothing behind")
    }

    /// Help works after other options, as perf users type it, and exits 0.
    func testHelpAfterOptions() throws {
        for arguments in [["record", "-g", "--help"], ["stat", "-e", "cs", "-h"], ["report", "--help"], ["help", "record"]] {
            let r = try Tool.ember(arguments)
            XCTAssertEqual(r.status, 0, "\(arguments): \(r.stderr)")
            XCTAssertTrue(r.stdout.contains("USAGE:") || r.stdout.contains("Usage:"), "\(arguments): \(r.stdout)")
        }
    }

    /// What follows the command belongs to it, even when it looks like Ember's options.
    func testCommandArgumentsAreNotEmbersOptions() throws {
        try requireRoot()
        let r = try Tool.ember(["stat", "-e", "task-clock", "--", "/bin/echo", "--filter", "x", "-e", "y", "-g", "dwarf"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "--filter x -e y -g dwarf\n")
    }
}
