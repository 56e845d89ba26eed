import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

@main
struct Ember: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ember",
        abstract: "A Linux profiler: record with perf_event_open, then script, collapse and flame graphs.",
        version: Ember.version,
        subcommands: [Record.self, Script.self, Collapse.self, FlameGraphCommand.self, Report.self, Pprof.self, Stat.self, Latency.self, List.self]
    )

    /// `ember --version`: the release this source is.
    static let version = "ember 0.10.0"

    /// ArgumentParser's parsing, with every usage error as one `ember: error:` line that names the nearest
    /// command or option and where the help is.
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let subcommand = subcommandNamed(arguments.first)
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
