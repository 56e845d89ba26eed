import ArgumentParser
import EmberPprof
import EmberStacks

struct Pprof: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a gzip-compressed pprof profile (profile.proto) for go tool pprof, Pyroscope or Parca.",
        discussion: "Example: ember pprof -i perf.data -o profile.pb.gz && go tool pprof -top profile.pb.gz"
    )

    @OptionGroup var input: InputOptions
    @OptionGroup var symbols: SymbolFlags

    @Option(name: [.customShort("o"), .long], help: "The profile to write.")
    var output = "profile.pb.gz"

    @Option(help: "The event to export from a recording with several (default: the first).")
    var event: String?

    func run() throws {
        var flags = symbols
        flags.srcline = true  // pprof locations carry line numbers
        let replay = try openReplay(input.input, symbols: flags)
        var builder = PprofBuilder()
        builder.eventName = event
        let bytes: [UInt8]
        do {
            bytes = try PprofBuilder.gzipped(try builder.build(replay))
        } catch let e as CollapseError {
            throw Diagnostics.fail(e.description)
        }
        do {
            try writeFile(output, bytes)
        } catch {
            throw Diagnostics.fail("cannot write \(output): \(error) (choose another path with -o)")
        }
        report(replay)
        Diagnostics.note("wrote \(output) (\(replay.samples) samples)")
    }
}
