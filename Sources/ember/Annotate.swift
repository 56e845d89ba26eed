import ArgumentParser
import EmberAnnotate
import EmberRender
import EmberReplay
import EmberSymbols
import EmberTop

extension AssemblySyntax: ExpressibleByArgument {}

struct Annotate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "annotate",
        abstract: "The hottest function's source lines and instructions, each with its share of the function's samples, like perf annotate --stdio.",
        discussion: """
            Examples:
              ember annotate -i perf.data
              ember annotate -i perf.data hot_function --source-only
              ember annotate -i perf.data.ember -M intel --asm-only
            """
    )

    @OptionGroup var input: InputOptions
    @OptionGroup var symbols: SymbolFlags
    @OptionGroup var filters: SampleFilterFlags

    @Argument(help: "The function to annotate, by its name as report shows it or as the binary has it (default: the hottest in user space).")
    var symbol: String?

    @Option(help: "The event whose samples to count in a recording with several (default: the first).")
    var event: String?

    @Option(name: [.customShort("M"), .customLong("disassembler-style")], help: "Instruction syntax: att (objdump's and perf's default) or intel.")
    var syntax: AssemblySyntax = .att

    @Flag(name: .customLong("source-only"), help: "One row per source line, its share summed over all its instructions.")
    var sourceOnly = false

    @Flag(name: .customLong("asm-only"), help: "The instructions alone, without source lines.")
    var asmOnly = false

    @Flag(help: "Accepted for perf's sake: this is the text layout.")
    var stdio = false

    @Flag(help: "A scrollable view in the terminal, opened on the hottest line (q quits).")
    var tui = false

    func validate() throws {
        if sourceOnly && asmOnly { throw ValidationError("--source-only and --asm-only leave nothing to print together; give one") }
        if tui && stdio { throw ValidationError("--tui and --stdio are two ways to show it; give one") }
    }

    func run() throws {
        let replay = try openReplay(input.input, symbols: symbols)
        try filters.apply(to: replay)
        guard let eventIndex = replay.eventIndex(named: event) else {
            throw Diagnostics.fail("the recording has no event '\(event ?? "")'; it has: \(replay.events.map(\.name).joined(separator: ", "))")
        }
        let sampled = FunctionSamples(replay, event: eventIndex)
        // Before anything else: what the symbolizer could not read explains most failures.
        report(replay)
        let function: SampledFunction
        let annotated: AnnotatedFunction
        do {
            function = try choose(from: sampled)
            let code = try replay.symbolizer.functionCode(at: function.location, symbol: function.symbol)
            annotated = try AnnotatedFunction(function, code: code, replay: replay, syntax: syntax)
        } catch let error as ExitCode {
            throw error
        } catch {
            throw Diagnostics.fail("\(error)")
        }
        var layout: AnnotationLayout = sourceOnly ? .sourceOnly : asmOnly ? .assemblyOnly : .sourceAndAssembly
        if !annotated.hasSourceLines {
            if sourceOnly { throw Diagnostics.fail("\(function.binary) has no debug info (no DWARF line table), so \(function.name) has no source lines; leave out --source-only for its instructions") }
            if layout == .sourceAndAssembly { Diagnostics.warning("\(function.binary) has no debug info (no DWARF line table): instructions only (install its debug package, or build with -g)") }
            layout = .assemblyOnly
        }
        let writer = AnnotationWriter(layout: layout, event: replay.events[eventIndex].name, totalSamples: sampled.samples,
                                      sources: SourceFiles(root: symbols.symfs))
        if tui {
            guard let terminal = Terminal() else { throw Diagnostics.fail("--tui needs a terminal on standard input and output; leave it out to print the annotation") }
            let (lines, hottest) = writer.lines(annotated)
            var view = ScrollView(lines: lines, selected: hottest)
            view.present(on: terminal)
            return
        }
        let out = TextOutput(fd: 1)
        writer.write(annotated, to: out)
        try finishOutput(out)
    }

    /// The function named, or the hottest in user space.
    private func choose(from sampled: FunctionSamples) throws -> SampledFunction {
        guard sampled.samples > 0 else { throw Diagnostics.fail("no samples to annotate in \(input.input) (none of the event, or none the filters keep)") }
        let hottest = sampled.functions.prefix(5).map(\.name).joined(separator: ", ")
        if let symbol {
            guard let named = sampled.functions.first(where: { $0.name == symbol || $0.rawName == symbol }) else {
                throw Diagnostics.fail("no samples were taken in \(symbol); the hottest functions are: \(hottest)")
            }
            return named
        }
        guard let user = sampled.functions.first(where: { !$0.isKernel }) else {
            if sampled.functions.isEmpty { throw Diagnostics.fail("no sample was taken in a known function, so there is nothing to annotate") }
            throw Diagnostics.fail("every sample was taken in the kernel (\(hottest)); ember annotate shows user-space code")
        }
        return user
    }
}
