import ArgumentParser
import EmberHeap
import EmberKernel
import EmberPprof
import EmberReplay
import EmberStacks

struct Pprof: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pprof",
        abstract: "Write a gzip-compressed pprof profile (profile.proto) for go tool pprof, Pyroscope or Parca.",
        discussion: "Example: ember pprof -i perf.data -o profile.pb.gz && go tool pprof -top profile.pb.gz"
    )

    @OptionGroup var input: InputOptions
    @OptionGroup var symbols: SymbolFlags
    @OptionGroup var filters: SampleFilterFlags

    @Option(name: [.customShort("o"), .long], help: "The profile to write (- for standard output).")
    var output = "profile.pb.gz"

    @Option(help: "The event to export from a recording with several (default: the first).")
    var event: String?

    @OptionGroup var wallClock: WallClockFlags

    @Option(help: ArgumentHelp("Of a heap recording (record --heap), which is written with a Go heap profile's four sample types (alloc_objects, alloc_space, inuse_objects, inuse_space): the one viewers show first, alloc or inuse (the default), leaks: only allocations still live when their process exited, or peak: in use at each process's peak.", valueName: "alloc|inuse|leaks|peak"))
    var heap: HeapMode?

    func run() throws {
        try checkOutput(output)
        var flags = symbols
        flags.srcline = true  // pprof locations carry line numbers
        let replay = try openReplay(input.input, symbols: flags)
        try filters.apply(to: replay)
        var builder = PprofBuilder()
        if let mode = FoldOptions.heapMode(heap, event: event, replay, otherwise: .inuse) {
            builder = try FoldOptions.heapProfile(replay, mode: mode).pprofBuilder(mode)
        } else {
            (builder.eventName, builder.weight, builder.offCPU) = try wallClock.sources(replay, event: event)
            if builder.weight != nil { builder.valueType = (type: "offcpu", unit: "nanoseconds") }
        }
        let bytes: [UInt8]
        do {
            bytes = try PprofBuilder.gzipped(try builder.build(replay))
        } catch let e as CollapseError {
            throw Diagnostics.fail(e.description)
        }
        try writeOutput(output, bytes)
        report(replay)
        Diagnostics.note("wrote \(outputName(output)) (\(replay.samples) samples)")
    }
}
