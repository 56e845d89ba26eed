import ArgumentParser
import EmberAnnotate
import EmberPerfData
import EmberReplay
import EmberStacks
import EmberSymbols

struct Archive: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive",
        abstract: "Write one file that holds a recording and what reading it elsewhere takes: its symbols and unwinds.",
        discussion: "Example: ember archive -i perf.data -o perf.data.ember"
    )

    @OptionGroup var input: InputOptions

    @Option(name: [.customShort("o"), .long], help: "The archive to write (default: the recording's name and .ember).")
    var output: String?

    func run() throws {
        guard let path = output ?? (input.input == "-" ? nil : input.input + ".ember") else {
            throw Diagnostics.fail("name the archive with -o when the recording comes on standard input")
        }
        try checkOutput(path)
        let (file, replay) = try openRecording(input.input, options: SymbolOptions(), archiving: true)
        guard file.archiveSections == nil else { throw Diagnostics.fail("\(input.input) is an archive already") }
        // One pass that asks every question a reading asks: each sample's frames, each tracepoint's and probe's
        // fields (kernel symbols, USDT argument specs).
        let fields = SampleFields(replay: replay)
        var frames: [ResolvedFrame] = []
        var sampled = FunctionSamples()
        replay.forEachSample(event: nil) { sample, index in
            replay.resolver.frames(of: sample, into: &frames)
            if fields.hasFields(event: index) { _ = fields.describe(sample, event: index) }
            sampled.add(sample, replay)
        }
        // And annotate's: the code of each function a sample was taken in, with its lines and the names of its
        // jumps' and calls' targets (kernel and JIT code has none to keep; without Capstone, no targets).
        for function in sampled.functions where !function.isKernel {
            guard let code = try? replay.symbolizer.functionCode(at: function.location, symbol: function.symbol) else { continue }
            _ = try? AnnotatedFunction(function, code: code, replay: replay, syntax: .att)
        }
        let recording = Array(file.image)
        let symbols = replay.symbolizer.capture?.encoded() ?? []
        let unwinds = replay.walks?.encoded() ?? []
        let bytes = ArchiveContainer.encode(modificationTime: file.modificationTime,
                                            sections: [(.recording, recording), (.symbols, symbols), (.unwinds, unwinds)])
        try writeOutput(path, bytes)
        report(replay)
        Diagnostics.note("wrote \(outputName(path)): \(bytes.count) bytes (the recording \(recording.count), symbols \(symbols.count), unwinds \(unwinds.count))")
    }
}
