import ArgumentParser
import EmberKernel
import EmberRecord
#if canImport(Glibc)
import Glibc
#endif

struct Stat: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stat",
        abstract: "Count events exactly (no sampling), like perf stat.",
        discussion: """
            Examples:
              ember stat -e uprobe:./app:parse -e syscalls:sys_enter_read -- ./app
              ember stat -e sched:sched_switch -a --duration 2
            """
    )

    @OptionGroup var eventOptions: EventOptions
    @OptionGroup var target: TargetOptions
    @OptionGroup var scope: ScopeOptions

    @Option(name: [.customShort("r"), .customLong("repeat")], parsing: .unconditional, help: "Run the command this many times; print the means and their spread.")
    var repeatCount = 1

    @Option(name: [.customShort("I"), .customLong("interval-print")], parsing: .unconditional, help: ArgumentHelp("Print the counts of every interval of this many milliseconds (10 or more).", valueName: "msec"))
    var interval: Int?

    @Option(name: .customLong("interval-count"), parsing: .unconditional, help: "With -I, stop after this many intervals.")
    var intervalCount: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Stop after this many milliseconds (perf's spelling of --duration).", valueName: "msec"))
    var timeout: Int?

    @Option(name: [.customShort("x"), .customLong("field-separator")], help: ArgumentHelp("CSV output with this separator, as perf stat -x.", valueName: "sep"))
    var separator: String?

    @Flag(name: [.customShort("j"), .customLong("json-output")], help: "JSON output, one object a line, as perf stat -j.")
    var json = false

    @Flag(name: .customLong("per-thread"), help: "Counts per thread of the processes given with -p.")
    var perThread = false

    @Option(name: [.customShort("o"), .customLong("output")], help: "Write the counts to this file instead of standard error.")
    var output: String?

    func validate() throws {
        guard repeatCount >= 1 else { throw ValidationError("-r takes a number of runs, 1 or more (got \(repeatCount))") }
        if let interval, interval < 10 { throw ValidationError("-I takes milliseconds, 10 or more (got \(interval))") }
        if separator != nil && json { throw ValidationError("choose -x (CSV) or -j (JSON), not both") }
        if separator == "" { throw ValidationError("-x needs a separator, such as , or ;") }
        if let intervalCount, interval == nil || intervalCount < 1 { throw ValidationError("--interval-count takes a number of -I intervals, 1 or more") }
        if let timeout, timeout <= 0 { throw ValidationError("--timeout takes milliseconds, more than 0 (got \(timeout))") }
        if repeatCount > 1 && interval != nil { throw ValidationError("-r and -I do not go together; print intervals of one run") }
    }

    func run() throws {
        let events = try eventOptions.events(defaults: ["task-clock", "context-switches", "cpu-migrations", "page-faults",
                                                        "cycles", "instructions", "branches", "branch-misses"],
                                             command: target.command)
        let what = try target.target(verb: "count", owner: Stat.self)
        if repeatCount > 1, case .command = what {} else if repeatCount > 1 {
            throw Diagnostics.fail("-r repeats a command; give one after --")
        }
        if perThread, case .processes = what {} else if perThread {
            throw Diagnostics.fail("--per-thread counts the threads of processes; give them with -p PID")
        }
        if let output { try checkOutput(output) }
        let subject: String
        switch what {
        case .command(let argv), .allCPUs(let argv?): subject = argv.joined(separator: " ")
        case .processes(let pids): subject = "process id \(pids.map(String.init).joined(separator: ","))"
        case .allCPUs: subject = "system wide"
        }
        let format: StatOutput.Format = json ? .json : separator.map { .separated($0) } ?? .human
        var text = ""
        /// Intervals go out as they come, unless they are going to a file.
        func emit(_ piece: String) {
            if output == nil { fputs(piece, stderr) } else { text += piece }
        }
        var results: [Counter.Result] = []
        for _ in 0..<repeatCount {
            var options = RecordOptions(target: what)
            options.events = events
            options.duration = timeout.map { Double($0) / 1000 } ?? target.duration
            options.cpus = try scope.cpus()
            options.delay = try scope.delaySeconds()
            options.inherit = !scope.noInherit
            options.threads = try target.tidList()
            let counter = Counter(options: options)
            counter.perThread = perThread
            if let interval {
                counter.interval = Double(interval) / 1000
                counter.intervalCount = intervalCount
                var first = true
                counter.onInterval = { result in
                    emit(StatOutput(format: format, elapsed: Double(interval) / 1000).interval(result, first: first))
                    first = false
                }
            }
            let result: Counter.Result
            do {
                result = try counter.run()
            } catch {
                let e = RecordError(wrapping: error)
                throw Diagnostics.fail(e.description, status: e.exitStatus)
            }
            for note in result.notes { Diagnostics.note(note) }
            results.append(result)
            if result.exitStatus != 0 { break }
        }
        // With -I, the intervals are the report, as in perf.
        if interval == nil {
            let mean = results.map(\.seconds).reduce(0, +) / Double(results.count)
            emit(StatOutput(format: format, elapsed: mean).report(results, subject: subject, perThread: perThread))
        }
        if let output { try writeOutput(output, Array(text.utf8)) }
        if let status = results.last?.exitStatus, status != 0 { throw ExitCode(status) }
    }
}
