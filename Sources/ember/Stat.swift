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
        let events = try eventOptions.events(defaults: ["task-clock"], command: target.command)
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
        var text = "\n Performance counter stats for '\(subject)':\n\n"
        for c in result.counts {
            let value = c.running == 0 ? "<not counted>" : String(c.value)
            let share = c.running > 0 && c.running < 0.999 ? "  (\(Int(c.running * 100))%, scaled)" : ""
            text += String(repeating: " ", count: max(0, 18 - value.count)) + value + "      " + c.name + share + "\n"
        }
        text += "\n" + "       \(formatSeconds(result.seconds)) seconds time elapsed\n\n"
        fputs(text, stderr)
        if result.exitStatus != 0 { throw ExitCode(result.exitStatus) }
    }
}
