import ArgumentParser
import EmberKernel
import EmberRecord

/// What `record`, `stat` and `latency` watch: a command, running processes or every CPU, for how long.
struct TargetOptions: ParsableArguments {
    @Option(name: [.customShort("p"), .customLong("pid")], parsing: .unconditional, help: "Running processes: PID[,PID...].")
    var pids: String?

    @Option(name: [.customShort("t"), .customLong("tid")], parsing: .unconditional, help: "Running threads: TID[,TID...] (stat and latency count and report their processes).")
    var tids: String?

    @Flag(name: [.customShort("a"), .customLong("all-cpus")], help: "Every CPU (system-wide).")
    var allCPUs = false

    @Option(parsing: .unconditional, help: "Stop after this many seconds.")
    var duration: Double?

    @Argument(parsing: .captureForPassthrough, help: "The command to run (after --).")
    var command: [String] = []

    /// The processes `-p` names, nil without `-p`.
    func pidList() throws -> [Int32]? {
        try idList(pids, flag: "-p", what: "PID", of: "process")
    }

    /// The threads `-t` names, nil without `-t`.
    func tidList() throws -> [Int32]? {
        try idList(tids, flag: "-t", what: "TID", of: "thread")
    }

    private func idList(_ text: String?, flag: String, what: String, of kind: String) throws -> [Int32]? {
        guard let text else { return nil }
        var list: [Int32] = []
        for part in text.split(separator: ",") {
            guard let id = Int32(part.trimmed), id > 0 else {
                throw Diagnostics.fail("'\(part)' is not a \(what) (a positive number); give \(flag) a comma-separated list of \(kind) ids")
            }
            list.append(id)
        }
        guard !list.isEmpty else { throw Diagnostics.fail("\(flag) needs a \(what)") }
        return list
    }

    /// The target these options name, or a one-line reason they do not. `owner` is the command these options
    /// belong to: an option it does not know ends up first in the passthrough command, and is an error (with the
    /// nearest option), or its help.
    func target(verb: String, owner: ParsableCommand.Type) throws -> RecordOptions.Target {
        var argv = command
        if let first = argv.first, first != "--", first.hasPrefix("-"), first.count > 1 {
            if first == "--help" || first == "-h" {
                print(Ember.helpMessage(for: owner))
                throw ExitCode.success
            }
            throw Diagnostics.fail(Suggestions.unknownOption(first, of: owner), status: 64)
        }
        let all = CommandLine.arguments
        if let first = argv.first, ["dwarf", "fp", "lbr"].contains(first), all.count >= argv.count + 1,
           all[all.count - argv.count - 1] == "-g" {
            throw Diagnostics.fail("-g takes no value; for DWARF call graphs use --call-graph \(first)", status: 64)
        }
        if argv.first == "--" { argv.removeFirst() }
        if let duration, !(duration > 0 && duration.isFinite) {
            throw Diagnostics.fail("--duration must be a positive number of seconds (got \(duration))")
        }
        if let threads = try tidList() {
            guard argv.isEmpty, !allCPUs, pids == nil else { throw Diagnostics.fail("-t cannot be combined with a command, -p or -a; choose one target") }
            guard let processes = RecordOptions.processes(ofThreads: threads) else {
                throw Diagnostics.fail("no such thread among \(threads.map(String.init).joined(separator: ",")) (list a process's threads in /proc/PID/task)")
            }
            return .processes(processes)
        }
        if let list = try pidList() {
            guard argv.isEmpty, !allCPUs else { throw Diagnostics.fail("-p cannot be combined with a command or -a; choose one target") }
            return .processes(list)
        }
        if allCPUs {
            if argv.isEmpty && duration == nil { Diagnostics.note("\(verb) all CPUs until Ctrl-C (or use --duration SECONDS)") }
            return .allCPUs(command: argv.isEmpty ? nil : argv)
        }
        guard !argv.isEmpty else { throw Diagnostics.fail("nothing to \(verb); give a command after --, -p PID or -a") }
        return .command(argv)
    }
}

/// What record, stat and latency take beyond the target: `--no-inherit`, `-C CPU-LIST`, `-D MSEC`.
struct ScopeOptions: ParsableArguments {
    @Flag(name: .customLong("no-inherit"), help: "Do not follow the threads and processes the command (or -p) creates.")
    var noInherit = false

    @Option(name: [.customShort("C"), .customLong("cpu")], help: ArgumentHelp("Only these CPUs, such as 0-3,6.", valueName: "cpu-list"))
    var cpuList: String?

    @Option(name: [.customShort("D"), .customLong("delay")], parsing: .unconditional, help: ArgumentHelp("Wait this many milliseconds after the command starts before taking events.", valueName: "msec"))
    var delay: Int?

    /// `-C`, checked against the online CPUs.
    func cpus() throws -> [Int32]? {
        guard let cpuList else { return nil }
        let online = OnlineCPUs.list()
        guard let cpus = OnlineCPUs.parse(cpuList) else { throw Diagnostics.fail("-C takes a CPU list such as 0-3,6, not '\(cpuList)'") }
        if let offline = cpus.first(where: { !online.contains($0) }) {
            throw Diagnostics.fail("CPU \(offline) is not online; online CPUs are \(online.map(String.init).joined(separator: ","))")
        }
        return cpus
    }

    /// `-D` in seconds.
    func delaySeconds() throws -> Double? {
        guard let delay else { return nil }
        guard delay >= 0 else { throw Diagnostics.fail("-D takes milliseconds to wait, 0 or more (got \(delay))") }
        return Double(delay) / 1000
    }
}

/// The events `record` and `stat` open: `-e EVENT`, each with the `--filter` after it.
struct EventOptions: ParsableArguments {
    @Option(name: [.customShort("e"), .long], help: ArgumentHelp("An event (repeatable): cpu-clock (default for record), task-clock, page-faults (faults), context-switches (cs), cpu-migrations (migrations), cycles (cpu-cycles), instructions, branches, branch-misses, cache-references, cache-misses, each with perf's modifiers :u :k :h :p; SYSTEM:TRACEPOINT (globs: sched:*); uprobe:BINARY:SYMBOL[+OFF], uprobe:BINARY:0xOFFSET, uretprobe:BINARY:SYMBOL; usdt:BINARY:PROVIDER:NAME; kprobe:FUNCTION[+OFF], kretprobe:FUNCTION.", valueName: "event"))
    var event: [String] = []

    @Flag(name: .customLong("all-user"), help: "Every counting event in user space only (as :u on each).")
    var allUser = false

    @Flag(name: .customLong("all-kernel"), help: "Every counting event in the kernel only (as :k on each).")
    var allKernel = false

    @Option(help: "A tracepoint or probe filter for the -e before it (the kernel's filter syntax: 'prev_pid != 0 && next_comm ~ \"ka*\"').")
    var filter: [String] = []

    /// The events, each with the `--filter` that follows it on the command line (as in perf); `defaults` when no
    /// `-e` was given.
    func events(defaults: [String], command: [String]) throws -> [RecordedEvent] {
        if event.isEmpty && !filter.isEmpty { throw Diagnostics.fail("--filter applies to the -e before it; give the event first") }
        var pairs: [(String, String?)] = []
        var remaining = filter[...]
        var expectEvent = false, expectFilter = false
        // Only the options before the command: the command's own arguments may say -e or --filter too.
        let arguments = CommandLine.arguments.dropFirst()
        for arg in arguments.prefix(max(0, arguments.count - command.count)).prefix(while: { $0 != "--" }) {
            if expectEvent { pairs.append((arg, nil)); expectEvent = false; continue }
            if expectFilter || arg.hasPrefix("--filter=") {
                guard !pairs.isEmpty else { throw Diagnostics.fail("--filter applies to the -e before it; give the event first") }
                guard pairs[pairs.count - 1].1 == nil else {
                    throw Diagnostics.fail("a second --filter for \(pairs[pairs.count - 1].0); join the conditions with && in one --filter")
                }
                pairs[pairs.count - 1].1 = remaining.popFirst()
                expectFilter = false
                continue
            }
            if arg == "-e" || arg == "--event" { expectEvent = true }
            else if arg.hasPrefix("--event=") { pairs.append((String(arg.dropFirst(8)), nil)) }
            else if arg.hasPrefix("-e"), arg.count > 2 { pairs.append((String(arg.dropFirst(2)), nil)) }
            else if arg == "--filter" { expectFilter = true }
        }
        // When the process's command line is not the one parsed (a test calling the parser), take them in order.
        if pairs.map(\.0) != event {
            guard filter.isEmpty else { throw Diagnostics.fail("could not tell which -e each --filter belongs to; write each as '-e EVENT --filter EXPR'") }
            pairs = event.map { ($0, nil) }
        }
        if pairs.isEmpty { pairs = defaults.map { ($0, nil) } }
        // perf's lists (`-e a,b`) and groups (`-e '{a,b}:u'`): each event on its own; a filter goes with the last.
        var expanded: [(String, String?)] = []
        for (text, filter) in pairs {
            let names = try EventOptions.list(text)
            guard !names.isEmpty, !names.contains(where: \.isEmpty) else {
                throw Diagnostics.fail("-e '\(text)' names no event; give one such as -e cpu-clock or -e sched:sched_switch ('ember list' shows them)")
            }
            if text.contains("{") { Diagnostics.note("the events of \(text) are opened each on its own: Ember does not group them") }
            expanded += names.enumerated().map { ($0.element, $0.offset == names.count - 1 ? filter : nil) }
        }
        if allUser && allKernel { throw Diagnostics.fail("--all-user and --all-kernel exclude each other; give one") }
        do {
            return try expanded.map { text, filter in
                var request = try EventRequest.parse(text)
                if case .counter(let spec, let modifiers) = request, allUser || allKernel {
                    request = .counter(spec, modifiers: modifiers + (allUser ? "u" : "k"))
                }
                return RecordedEvent(request, filter: filter)
            }
        } catch {
            throw Diagnostics.fail("\(error)")
        }
    }

    /// The events of one `-e`: a comma-separated list whose items may be groups, `{a,b}` with modifiers after the
    /// brace (`{a,b}:u`) that apply to each member.
    static func list(_ text: String) throws -> [String] {
        var events: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            if rest.hasPrefix("{") {
                guard let close = rest.firstIndex(of: "}") else {
                    throw Diagnostics.fail("the group in '\(text)' has no closing brace; write it as '{EVENT,EVENT}'")
                }
                let members = rest[rest.index(after: rest.startIndex)..<close].split(separator: ",").map(String.init)
                guard !members.isEmpty, !members.contains(where: { $0.contains("{") }) else {
                    throw Diagnostics.fail("the group in '\(text)' needs events, and groups do not nest")
                }
                rest = rest[rest.index(after: close)...]
                var modifiers = ""
                if rest.hasPrefix(":") {
                    modifiers = String(rest.prefix { $0 != "," })
                    rest = rest.dropFirst(modifiers.count)
                }
                events += members.map { $0 + modifiers }
            } else {
                let item = rest.prefix { $0 != "," }
                guard !item.isEmpty else { throw Diagnostics.fail("an empty event in '\(text)'; separate events with one comma") }
                events.append(String(item))
                rest = rest.dropFirst(item.count)
            }
            if rest.hasPrefix(",") {
                rest = rest.dropFirst()
                if rest.isEmpty { throw Diagnostics.fail("an empty event in '\(text)'; separate events with one comma") }
            }
        }
        return events
    }
}
