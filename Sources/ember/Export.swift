import ArgumentParser
import EmberExport
import EmberReplay
import EmberStacks

/// The viewers `ember export` writes for.
enum ExportFormat: String, ExpressibleByArgument, CaseIterable {
    case speedscope
    case firefox

    var defaultOutput: String {
        switch self {
        case .speedscope: return "profile.speedscope.json"
        case .firefox: return "profile.json.gz"
        }
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a recording for the viewers people already use: speedscope and the Firefox Profiler.",
        discussion: "Example: ember export --format speedscope -i perf.data -o app.speedscope.json"
    )

    @OptionGroup var input: InputOptions
    @OptionGroup var symbols: SymbolFlags
    @OptionGroup var filters: SampleFilterFlags

    @Option(help: "The format: speedscope, or firefox (the Firefox Profiler's, gzip-compressed).")
    var format: ExportFormat

    @Option(name: [.customShort("o"), .long], help: "The file to write (- for standard output; default profile.speedscope.json or profile.json.gz).")
    var output: String?

    @Option(help: "The event to export from a recording with several (default: the first).")
    var event: String?

    @OptionGroup var wallClock: WallClockFlags

    func run() throws {
        let path = output ?? format.defaultOutput
        try checkOutput(path)
        // Functions carry the file and line they are declared at (the viewers' frames are functions); the line of
        // each sampled address (--srcline) costs a second pass through the line tables.
        let replay = try openReplay(input.input, symbols: symbols)
        try filters.apply(to: replay)
        let bytes: [UInt8]
        do {
            switch format {
            case .speedscope:
                var exporter = SpeedscopeExporter()
                exporter.eventName = event
                switch try wallClock.choice(replay, event: event) {
                case .samples: break
                case .offCPUOnly(let stacks):
                    exporter.eventName = stacks.eventName
                    exporter.weight = stacks.weight
                case .both(let stacks): exporter.offCPU = stacks
                }
                bytes = try exporter.export(replay, name: input.input)
            case .firefox:
                if wallClock.offCPUOnly {
                    throw Diagnostics.fail("the Firefox Profiler's format takes samples at their times, not time blocked; export off-CPU time with --format speedscope")
                }
                var exporter = FirefoxExporter()
                exporter.eventName = event
                bytes = try exporter.export(replay, name: input.input)
            }
        } catch let e as CollapseError {
            throw Diagnostics.fail(e.description)
        }
        try writeOutput(path, bytes)
        report(replay)
        Diagnostics.note("wrote \(outputName(path)) (\(replay.samples) samples)")
    }
}
