import ArgumentParser

@main
struct Ember: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ember",
        abstract: "A Linux profiler: record with perf_event_open, then script, collapse and flame graphs.",
        subcommands: [Record.self, Script.self, Collapse.self, FlameGraphCommand.self, Report.self, Pprof.self, Stat.self, List.self]
    )
}

/// The input file option shared by the reading commands.
struct InputOptions: ParsableArguments {
    @Option(name: [.customShort("i"), .long], help: "The perf.data file to read (Ember's or perf's).")
    var input = "perf.data"
}
