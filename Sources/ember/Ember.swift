import ArgumentParser
import EmberKernel
import EmberRecord
import EmberReplay
import EmberStacks
#if canImport(Glibc)
import Glibc
#endif

/// Every command names itself (`commandName`): without it ArgumentParser derives the name from the type with
/// `String(describing:)`, whose dynamic casts scan every protocol conformance in the binary, and `main` asks each
/// command's name on every start (a third of `ember --version`'s time).
@main
struct Ember: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ember",
        abstract: "A Linux profiler: record with perf_event_open, then script, collapse and flame graphs.",
        version: Ember.version,
        subcommands: [Record.self, Script.self, Collapse.self, FlameGraphCommand.self, Report.self, Annotate.self, Top.self, Pprof.self, Export.self, Archive.self, Agent.self, Stat.self, Latency.self, List.self, UnwindCheckCommand.self]
    )

    /// `ember --version`: the release this source is.
    static let version = EmberVersion.string

    /// ArgumentParser's parsing, with every usage error as one `ember: error:` line that names the nearest
    /// command or option and where the help is.
    static func main() {
        var arguments = Array(CommandLine.arguments.dropFirst())
        let subcommand = subcommandNamed(arguments.first)
        if let subcommand {
            arguments = joinedValuesSplit(arguments, valueLetters: shortOptionsWithValues[subcommand._commandName] ?? [],
                                          longOptionsWithValues: longOptionsWithValues(of: subcommand))
        }
        if let first = arguments.first, !first.hasPrefix("-"), first != "help", subcommand == nil {
            let names = configuration.subcommands.map { $0._commandName }
            let near = Suggestions.nearest(first, in: names).map { "; did you mean '\($0)'?" } ?? ""
            usageError("unknown command '\(first)'\(near) (see 'ember --help')", status: 64)
        }
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            report(error, subcommand: subcommand)
        }
    }

    /// The short options that take a value, per command: perf users write the value joined (`-F99`, `-x,`,
    /// `-r5`, `-I1000`), which ArgumentParser would read as a cluster of flags.
    private static let shortOptionsWithValues: [String: Set<Character>] = [
        "record": ["e", "F", "c", "m", "o", "p", "t", "C", "D", "i"],
        "stat": ["e", "r", "I", "x", "o", "p", "t", "C", "D"],
        "script": ["i", "F", "S", "c", "C", "d"], "report": ["i", "s", "g", "S", "c", "C", "d"],
        "collapse": ["i", "S", "c", "C", "d"], "flamegraph": ["i", "o", "S", "c", "C", "d"], "pprof": ["i", "o", "S", "c", "C", "d"],
        "export": ["i", "o", "S", "c", "C", "d"], "archive": ["i", "o"], "agent": ["p", "F"], "unwind-check": ["i", "S", "c", "C", "d"],
        "latency": ["i", "o", "p", "t", "C", "D"],
    ]

    /// `-F99` as `-F 99`, for the options in `valueLetters`, up to `--` or the profiled command (the first word that
    /// is not an option or an option's value), whose own arguments are left alone.
    static func joinedValuesSplit(_ arguments: [String], valueLetters: Set<Character>,
                                  longOptionsWithValues: @autoclosure () -> Set<String>) -> [String] {
        // Nothing joined, nothing to do (and no need to learn the long options).
        guard arguments.contains(where: { $0.count > 2 && !$0.hasPrefix("--") && $0.hasPrefix("-") && valueLetters.contains($0.dropFirst().first!) }) else {
            return arguments
        }
        let long = longOptionsWithValues()
        var out = [arguments[0]]
        var i = 1
        // After `-F` or `--freq`, the next word is the option's value, whatever it looks like.
        var valueIsNext = false
        while i < arguments.count {
            let a = arguments[i]
            if valueIsNext {
                out.append(a)
                valueIsNext = false
                i += 1
                continue
            }
            if a == "--" || !a.hasPrefix("-") { break }
            i += 1
            if !a.hasPrefix("--"), a.count > 2, let letter = a.dropFirst().first, valueLetters.contains(letter) {
                out += ["-" + String(letter), String(a.dropFirst(2))]
            } else {
                out.append(a)
                valueIsNext = a.hasPrefix("--") ? !a.contains("=") && long.contains(a) : a.count == 2 && valueLetters.contains(a.dropFirst().first!)
            }
        }
        return out + arguments[i...]
    }

    /// The long options of a command that take a value, as its help shows them (`--freq <freq>`).
    private static func longOptionsWithValues(of command: ParsableCommand.Type) -> Set<String> {
        let words = helpMessage(for: command, columns: 1000).split(whereSeparator: { $0 == " " || $0 == "\n" })
        var out = Set<String>()
        for (word, next) in zip(words, words.dropFirst()) where word.hasPrefix("--") && next.hasPrefix("<") {
            out.insert(String(word.hasSuffix(",") ? word.dropLast() : word))
        }
        return out
    }

    private static func subcommandNamed(_ name: String?) -> ParsableCommand.Type? {
        guard let name else { return nil }
        return configuration.subcommands.first { $0._commandName == name }
    }

    private static func report(_ error: Error, subcommand: ParsableCommand.Type?) {
        let code = exitCode(for: error)
        if code == ExitCode.success || error is ExitCode { exit(withError: error) }
        let lines = message(for: error).split(separator: "\n")
        let text = lines.first.map(String.init) ?? "\(error)"
        let unknown = "Unknown option '"
        if text.hasPrefix(unknown), let command = subcommand {
            let option = String(text.dropFirst(unknown.count).prefix { $0 != "'" })
            usageError(Suggestions.unknownOption(option, of: command), status: code.rawValue)
        }
        let help = subcommand.map { "ember \($0._commandName) --help" } ?? "ember --help"
        let sentence = text.prefix(1).lowercased() + text.dropFirst()
        usageError("\(sentence) (see '\(help)')", status: code.rawValue)
    }

    private static func usageError(_ message: String, status: Int32) {
        fputs("ember: error: \(message)\n", stderr)
        Glibc.exit(status)
    }
}

/// The input file option shared by the reading commands.
struct InputOptions: ParsableArguments {
    @Option(name: [.customShort("i"), .long], help: "The recording to read: Ember's or perf's perf.data, a pipe-format stream, or - for standard input.")
    var input = "perf.data"
}

/// perf's reader filters, on every reading command: the samples outside them are left out.
struct SampleFilterFlags: ParsableArguments {
    @Option(name: [.customShort("c"), .long, .customLong("comm")], help: "Only samples of these commands (comma-separated; --comm is the same).")
    var comms: String?

    @Option(help: "Only samples of these process ids (comma-separated).")
    var pids: String?

    @Option(help: "Only samples of these thread ids (comma-separated).")
    var tids: String?

    @Option(name: [.customShort("C"), .long], help: ArgumentHelp("Only samples taken on these CPUs, such as 0-3,6.", valueName: "cpu-list"))
    var cpu: String?

    @Option(help: ArgumentHelp("Only samples in this time span: START,STOP in seconds, as perf script prints times or from the recording's start (1.5,3), either may be left out; or percent slices, 10%/3 or 0%-25%.", valueName: "start,stop"))
    var time: String?

    @Option(name: [.customShort("d"), .long], help: ArgumentHelp("Only samples taken in these binaries (comma-separated paths or file names, such as libc.so.6 or [kernel.kallsyms]).", valueName: "dsos"))
    var dsos: String?

    @Option(name: [.customShort("S"), .customLong("symbols")], help: ArgumentHelp("Only samples taken in these functions (comma-separated).", valueName: "symbols"))
    var symbolList: String?

    @Option(name: .customLong("max-stack"), parsing: .unconditional, help: "At most this many frames of each stack, the innermost.")
    var maxStack: Int?

    @Flag(name: .customLong("all-processes"), help: "Every process the recording holds. By default a recording made for a command (or -p processes) shows only their process tree, when no --comms, --pids or --tids say otherwise (a recording may hold others: the wakers of latency --wakers, or record -a -- CMD's whole machine).")
    var allProcesses = false

    /// Applies the filters (unless the command filters itself, as report does to keep its percentages of every
    /// sample) and the stack depth to a reading.
    func apply(to replay: Replay, filtering: Bool = true) throws {
        if filtering { replay.filter = try filter(replay) }
        if let maxStack {
            guard maxStack > 0 else { throw Diagnostics.fail("--max-stack takes a number of frames, 1 or more (got \(maxStack))") }
            replay.resolver.maxStack = maxStack
        }
    }

    /// The filter, with `pids` from a command's own spelling where it has one (report's --pid, as perf's).
    func filter(_ replay: Replay, pids otherPids: String? = nil) throws -> SampleFilter {
        var filter = SampleFilter()
        if let list = comms { filter.comms = Set(list.split(separator: ",").map(String.init)) }
        if let list = pids ?? otherPids { filter.pids = Set(try SampleFilterFlags.ids(list, "--pids")) }
        if let list = tids { filter.tids = Set(try SampleFilterFlags.ids(list, "--tids")) }
        if !allProcesses, filter.comms == nil, filter.pids == nil, filter.tids == nil, let target = replay.file?.recordedTarget, !target.isEmpty {
            filter.processTrees = Set(target)
        }
        if let cpu { filter.cpus = try SampleFilterFlags.cpus(cpu) }
        if let time { filter.times = try SampleFilterFlags.times(time, replay) }
        filter.dsos = dsos.map(SampleFilterFlags.names)
        filter.symbols = symbolList.map(SampleFilterFlags.names)
        return filter
    }

    /// A comma-separated list of names.
    static func names(_ list: String) -> Set<String> {
        Set(list.split(separator: ",").map { String($0.trimmed) })
    }

    /// `--time`, resolved against the recording's samples; an error when it keeps none of their span.
    static func times(_ text: String, _ replay: Replay) throws -> [ClosedRange<UInt64>] {
        let slice: TimeSlice
        do {
            slice = try TimeSlice.parse(text)
        } catch {
            throw Diagnostics.fail("--time takes START,STOP in seconds (as perf script prints times, or from the start: 1.5,3; either may be left out) or percent slices (10%/3, 0%-25%), not '\(text)'")
        }
        guard let span = replay.sampleSpan else { return [] }
        let spans = slice.spans(first: span.first, last: span.last)
        guard spans.contains(where: { $0.overlaps(span.first...span.last) }) else {
            // As perf script prints times: seconds and microseconds.
            func seconds(_ ns: UInt64) -> String {
                let micros = String(ns % 1_000_000_000 / 1000)
                return "\(ns / 1_000_000_000)." + String(repeating: "0", count: 6 - micros.count) + micros
            }
            throw Diagnostics.fail("--time \(text) is outside the recording, whose samples run from \(seconds(span.first)) to \(seconds(span.last)) (\(seconds(span.last - span.first)) s; times well before it count from its start)")
        }
        return spans
    }

    private static func ids(_ list: String, _ flag: String) throws -> [Int32] {
        try list.split(separator: ",").map { part in
            guard let id = Int32(part.trimmed), id >= 0 else {
                throw Diagnostics.fail("\(flag) takes comma-separated ids, not '\(list)'")
            }
            return id
        }
    }

    /// `0-3,6`.
    static func cpus(_ list: String) throws -> Set<UInt32> {
        guard let cpus = OnlineCPUs.parse(list) else { throw Diagnostics.fail("--cpu takes a CPU list such as 0-3,6, not '\(list)'") }
        return Set(cpus.map { UInt32($0) })
    }
}
