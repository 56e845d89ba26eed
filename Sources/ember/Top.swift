import ArgumentParser
import EmberAnnotate
import EmberKernel
import EmberRecord
import EmberRender
import EmberReplay
import EmberStacks
import EmberSymbols
import EmberTop
#if canImport(Glibc)
import Glibc
#endif

struct Top: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "The hottest functions right now, refreshed live, like perf top.",
        discussion: """
            Examples:
              ember top                      # every CPU
              ember top -p 1234 -g           # one process, with its callers
              ember top --stdio --duration 5 | head -30
            Keys: arrows move, Enter annotates, Right expands callers (-g), / filters, K/U hide kernel/user, z zeroes, ? help, q quits.
            """
    )

    @Option(name: [.customShort("p"), .customLong("pid")], parsing: .unconditional, help: "Only these processes: PID[,PID...] (default: every CPU).")
    var pids: String?

    @Flag(name: [.customShort("a"), .customLong("all-cpus")], help: "Every CPU (the default without -p).")
    var allCPUs = false

    @Option(name: [.customShort("C"), .customLong("cpu")], help: ArgumentHelp("Only these CPUs, such as 0-3,6.", valueName: "cpu-list"))
    var cpuList: String?

    @Option(name: [.customShort("e"), .long], help: "The sampling event (default cpu-clock; 'ember list' shows others).")
    var event = "cpu-clock"

    @Option(name: [.customShort("F"), .customLong("freq")], help: "Samples per second.")
    var frequency = 999

    @Flag(name: .customShort("g"), help: "Record call chains (frame pointers): Right on an entry shows its callers.")
    var callGraph = false

    @Option(name: [.customShort("d"), .customLong("delay")], help: "Seconds between refreshes.")
    var delay = 1.0

    @Option(name: [.customShort("s"), .long], help: "Sort keys, comma-separated, as report's: comm, pid, tid, cpu, dso, symbol (default dso,symbol).")
    var sort = "dso,symbol"

    @Flag(name: [.customShort("z"), .customLong("zero")], help: "Zero the counts at each refresh instead of decaying them by an eighth.")
    var zero = false

    @Flag(name: [.customShort("K"), .customLong("hide-kernel")], help: "Hide kernel entries (K toggles).")
    var hideKernel = false

    @Flag(name: [.customShort("U"), .customLong("hide-user")], help: "Hide user-space entries (U toggles).")
    var hideUser = false

    @Option(name: [.customLong("comm"), .customLong("comms")], help: "Only samples of these commands (comma-separated).")
    var comms: String?

    @Option(name: [.customShort("M"), .customLong("disassembler-style")], help: "Annotation syntax: att or intel.")
    var syntax: AssemblySyntax = .att

    @Flag(help: "Print a text snapshot at each refresh instead of the terminal UI (the default when standard output is not a terminal).")
    var stdio = false

    @Option(parsing: .unconditional, help: "Stop after this many seconds.")
    var duration: Double?

    @Option(help: "Entries per --stdio snapshot.")
    var limit = 40

    func validate() throws {
        guard delay >= 0.1, delay.isFinite else { throw ValidationError("-d takes seconds between refreshes, 0.1 or more (got \(delay))") }
        guard frequency >= 1 else { throw ValidationError("-F takes samples per second, 1 or more (got \(frequency))") }
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1 (got \(limit))") }
        if let duration, !(duration > 0 && duration.isFinite) { throw ValidationError("--duration must be a positive number of seconds (got \(duration))") }
        if pids != nil, allCPUs { throw ValidationError("-p and -a name different targets; give one") }
    }

    func run() throws {
        var target = RecordOptions.Target.allCPUs(command: nil)
        var scope = "all, \(OnlineCPUs.list().count) CPUs"
        if let pids {
            let list = pids.split(separator: ",").compactMap { Int32($0.trimmed) }
            guard !list.isEmpty, list.count == pids.split(separator: ",").count, list.allSatisfy({ $0 > 0 }) else {
                throw Diagnostics.fail("'\(pids)' is not a list of process ids; give -p PID[,PID...]")
            }
            target = .processes(list)
            scope = "pid \(list.map(String.init).joined(separator: ","))"
        }
        var record = RecordOptions(target: target)
        do {
            record.events = [RecordedEvent(try EventRequest.parse(event))]
        } catch {
            throw Diagnostics.fail("\(error)")
        }
        record.sampling = .frequency(UInt64(frequency))
        record.samplingIsDefault = false
        record.callGraph = callGraph ? .framePointer : .none
        record.duration = duration
        if let cpuList {
            guard let cpus = OnlineCPUs.parse(cpuList) else { throw Diagnostics.fail("-C takes a CPU list such as 0-3,6, not '\(cpuList)'") }
            record.cpus = cpus
            scope += ", CPUs \(cpuList)"
        }
        var options = TopOptions(record: record)
        options.keys = try sort.split(separator: ",").map { name in
            let key = name == "sym" ? "symbol" : String(name.trimmed)
            guard let k = ReportKey(rawValue: key), ![.state, .srcline, .address].contains(k) else {
                throw Diagnostics.fail("--sort takes comm, pid, tid, cpu, dso and symbol, not '\(name)'")
            }
            return k
        }
        options.callGraphs = callGraph
        options.zeroes = zero
        options.delay = delay
        options.comms = comms.map { Set($0.split(separator: ",").map(String.init)) }
        let terminal = stdio ? nil : Terminal()
        if terminal == nil, !stdio, isatty(1) == 1 { Diagnostics.note("standard input is not a terminal: printing --stdio snapshots") }
        var screen = TopScreen(keys: options.keys, scope: scope, rate: "\(frequency)Hz")
        screen.hideKernel = hideKernel
        screen.hideUser = hideUser
        screen.zeroes = zero
        let session: TopSession
        do {
            session = try TopSession(options: options)
        } catch {
            throw Diagnostics.fail("\(RecordError(wrapping: error))")
        }
        let out = TextOutput(fd: 1)
        let result = TopLoop.run(session, screen: screen, terminal: terminal, syntax: syntax, limit: limit) { text in
            out.write(text)
            out.flush()
        }
        switch result {
        case .success(let summary):
            if summary.lost > 0 { Diagnostics.warning("\(summary.lost) events were lost because a ring buffer was full; use a lower -F") }
        case .failure(let e):
            throw Diagnostics.fail(e.description, status: e.exitStatus)
        }
    }
}
