import ArgumentParser
import EmberExport
import EmberOTLP
import EmberReplay
import EmberStacks

/// The viewers `ember export` writes for.
enum ExportFormat: String, ExpressibleByArgument, CaseIterable {
    case speedscope
    case firefox
    case otlp

    func defaultOutput(json: Bool) -> String {
        switch self {
        case .speedscope: return "profile.speedscope.json"
        case .firefox: return "profile.json.gz"
        case .otlp: return json ? "profiles.otlp.json" : "profiles.otlp.pb"
        }
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a recording for the viewers people already use: speedscope, the Firefox Profiler, and OpenTelemetry (OTLP profiles).",
        discussion: """
            Examples:
              ember export --format speedscope -i perf.data -o app.speedscope.json
              ember export --format otlp -i perf.data -o profiles.otlp.pb --service-name checkout
            """
    )

    @OptionGroup var input: InputOptions
    @OptionGroup var symbols: SymbolFlags
    @OptionGroup var filters: SampleFilterFlags

    @Option(help: "The format: speedscope, firefox (the Firefox Profiler's, gzip-compressed), or otlp (an OpenTelemetry ExportProfilesServiceRequest, binary protobuf).")
    var format: ExportFormat

    @Option(name: [.customShort("o"), .long], help: "The file to write (- for standard output; default profile.speedscope.json, profile.json.gz, profiles.otlp.pb or, with --json, profiles.otlp.json).")
    var output: String?

    @Flag(help: "With --format otlp: OTLP/JSON instead of binary protobuf.")
    var json = false

    @Option(help: "With --format otlp: the service.name of every process's resource.")
    var serviceName: String?

    @Option(help: "The event to export from a recording with several (default: the first).")
    var event: String?

    @OptionGroup var wallClock: WallClockFlags

    func validate() throws {
        if format != .otlp && (json || serviceName != nil) { throw ValidationError("--json and --service-name go with --format otlp") }
    }

    func run() throws {
        let path = output ?? format.defaultOutput(json: json)
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
                (exporter.eventName, exporter.weight, exporter.offCPU) = try wallClock.sources(replay, event: event)
                bytes = try exporter.export(replay, name: input.input)
            case .firefox:
                if wallClock.offCPUOnly {
                    throw Diagnostics.fail("the Firefox Profiler's format takes samples at their times, not time blocked; export off-CPU time with --format speedscope")
                }
                var exporter = FirefoxExporter()
                exporter.eventName = event
                bytes = try exporter.export(replay, name: input.input)
            case .otlp:
                var builder = OTLPBuilder()
                builder.serviceName = serviceName
                (builder.eventName, builder.weight, builder.offCPU) = try wallClock.sources(replay, event: event)
                let request = try builder.build(replay)
                bytes = json ? Array(try request.jsonUTF8Data()) : Array(try request.serializedData())
            }
        } catch let e as CollapseError {
            throw Diagnostics.fail(e.description)
        }
        try writeOutput(path, bytes)
        report(replay)
        Diagnostics.note("wrote \(outputName(path)) (\(replay.samples) samples)")
    }
}
