import ArgumentParser
import EmberKernel
import EmberRecord
#if canImport(Glibc)
import Glibc
#endif

struct Stat: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Count events exactly (no sampling), like perf stat.",
        discussion: """
            Examples:
              ember stat -e uprobe:./app:parse -e syscalls:sys_enter_read -- ./app
              ember stat -e sched:sched_switch -a --duration 2
            """
    )

    @OptionGroup var eventOptions: EventOptions
    @OptionGroup var target: TargetOptions

    func run() throws {
        let events = try eventOptions.events(defaults: ["task-clock", "context-switches", "cpu-migrations", "page-faults", "cycles", "instructions"],
                                             command: target.command)
        let what = try target.target(verb: "count", owner: Stat.self)
        let result: Counter.Result
        do {
            result = try Counter(events: events, target: what, duration: target.duration).run()
        } catch {
            let e = RecordError(wrapping: error)
            throw Diagnostics.fail(e.description, status: e.exitStatus)
        }
        for note in result.notes { Diagnostics.note(note) }
        let subject: String
        switch what {
        case .command(let argv), .allCPUs(let argv?): subject = argv.joined(separator: " ")
        case .processes(let pids): subject = "process " + pids.map(String.init).joined(separator: ",")
        case .allCPUs: subject = "all CPUs"
        }
        fputs(Stat.render(result, subject: subject), stderr)
        if result.exitStatus != 0 { throw ExitCode(result.exitStatus) }
    }

    /// perf stat's layout: a clock in msec with the CPUs it kept busy, other counts with their rate per second of
    /// that clock, `<not supported>` for what this machine cannot count, then the elapsed, user and system times.
    static func render(_ result: Counter.Result, subject: String) -> String {
        func right(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
        func left(_ s: String, _ width: Int) -> String { s + String(repeating: " ", count: max(0, width - s.count)) }
        func fixed(_ value: Double, _ decimals: Int) -> String {
            var scaled = (value * pow(10, Double(decimals))).rounded()
            if !scaled.isFinite { scaled = 0 }
            let n = Int(scaled), unit = Int(pow(10, Double(decimals)))
            let fraction = String(abs(n) % unit)
            return "\(n / unit)." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        let clock = result.counts.first { $0.isClock && $0.supported && $0.running > 0 }
        let busySeconds = clock.map { Double($0.value) / 1e9 } ?? result.seconds
        var text = "\n Performance counter stats for '\(subject)':\n\n"
        for c in result.counts {
            let scaled = c.running > 0 && c.running < 0.999 ? "  (\(Int(c.running * 100))%)" : ""
            if !c.supported {
                text += right("<not supported>", 18) + "      " + c.name + "\n"
            } else if c.running == 0 {
                text += right("<not counted>", 18) + "      " + c.name + "\n"
            } else if c.isClock {
                let utilized = result.seconds > 0 ? Double(c.value) / 1e9 / result.seconds : 0
                text += right(fixed(Double(c.value) / 1e6, 2), 18) + " msec " + left(c.name, 32) + " # " + right(fixed(utilized, 3), 8) + " CPUs utilized" + scaled + "\n"
            } else {
                let rate = busySeconds > 0 ? Double(c.value) / busySeconds : 0
                text += right(String(c.value), 18) + "      " + left(c.name, 32) + " # " + right(fixed(rate, 3), 8) + " /sec" + scaled + "\n"
            }
        }
        text += "\n" + right(fixed(result.seconds, 9), 18) + " seconds time elapsed\n\n"
        if let user = result.userSeconds, let system = result.systemSeconds {
            text += right(fixed(user, 9), 18) + " seconds user\n" + right(fixed(system, 9), 18) + " seconds sys\n\n"
        }
        return text
    }
}
