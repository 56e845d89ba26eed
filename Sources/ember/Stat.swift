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

    @Option(name: [.customShort("e"), .long], help: "An event to count (repeatable; the forms of 'ember record -e').")
    var event: [String] = []

    @Option(help: "A filter for the -e before it.")
    var filter: [String] = []

    @Option(name: [.customShort("p"), .customLong("pid")], help: "Count in running processes: PID[,PID...].")
    var pids: String?

    @Flag(name: [.customShort("a"), .customLong("all-cpus")], help: "Count on every CPU.")
    var allCPUs = false

    @Option(help: "Stop after this many seconds.")
    var duration: Double?

    @Argument(parsing: .captureForPassthrough, help: "The command to run and count (after --).")
    var command: [String] = []

    func run() throws {
        var argv = command
        if argv.first == "--" { argv.removeFirst() }
        let target: RecordOptions.Target
        if let pids {
            let list = pids.split(separator: ",").compactMap { Int32($0) }
            guard !list.isEmpty, argv.isEmpty, !allCPUs else { throw Diagnostics.fail("-p takes comma-separated PIDs, and no command or -a") }
            target = .processes(list)
        } else if allCPUs {
            target = .allCPUs(command: argv.isEmpty ? nil : argv)
        } else {
            guard !argv.isEmpty else { throw Diagnostics.fail("nothing to count; give a command after --, -p PID or -a") }
            target = .command(argv)
        }
        var events: [(request: EventRequest, filter: String?)] = []
        do {
            events = try (event.isEmpty ? ["task-clock"] : event).enumerated().map { i, text in
                (try EventRequest.parse(text), i < filter.count ? filter[i] : nil)
            }
        } catch {
            throw Diagnostics.fail("\(error)")
        }
        let result: Counter.Result
        do {
            result = try Counter(events: events, target: target, duration: duration).run()
        } catch {
            let e = RecordError(wrapping: error)
            throw Diagnostics.fail(e.description, status: e.exitStatus)
        }
        for note in result.notes { Diagnostics.note(note) }
        var text = "\n Performance counter stats for '\(argv.isEmpty ? (pids.map { "process \($0)" } ?? "all CPUs") : argv.joined(separator: " "))':\n\n"
        for c in result.counts {
            let value = String(c.value)
            text += String(repeating: " ", count: max(0, 18 - value.count)) + value + "      " + c.name + "\n"
        }
        text += "\n" + "       \(formatSeconds(result.seconds)) seconds time elapsed\n\n"
        fputs(text, stderr)
        if result.exitStatus != 0 { throw ExitCode(result.exitStatus) }
    }
}
