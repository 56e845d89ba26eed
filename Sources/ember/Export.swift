import ArgumentParser
import EmberExport
import EmberStacks

/// The viewers `ember export` writes for.
enum ExportFormat: String, ExpressibleByArgument, CaseIterable {
    case speedscope

    var defaultOutput: String {
        switch self {
        case .speedscope: return "profile.speedscope.json"
        }
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a recording for the viewers people already use: speedscope.",
        discussion: "Example: ember export --format speedscope -i perf.data -o app.speedscope.json"
    )

    @OptionGroup var input: InputOptions
    @OptionGroup var symbols: SymbolFlags
    @OptionGroup var filters: SampleFilterFlags

    @Option(help: "The format: speedscope.")
    var format: ExportFormat

    @Option(name: [.customShort("o"), .long], help: "The file to write (- for standard output; default by format, profile.speedscope.json).")
    var output: String?

    @Option(help: "The event to export from a recording with several (default: the first).")
    var event: String?

    func run() throws {
        let path = output ?? format.defaultOutput
        try checkOutput(path)
        var flags = symbols
        flags.srcline = true  // both viewers show source files and lines
        let replay = try openReplay(input.input, symbols: flags)
        try filters.apply(to: replay)
        let bytes: [UInt8]
        do {
            switch format {
            case .speedscope:
                var exporter = SpeedscopeExporter()
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
