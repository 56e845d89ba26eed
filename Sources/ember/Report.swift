import ArgumentParser
import CEmberShim
import EmberHeap
import EmberPerfData
import EmberRender
import EmberReplay
import EmberStacks
#if canImport(Glibc)
import Glibc
#endif

extension CallGraphOrder: ExpressibleByArgument {}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Overhead per symbol (or any sort keys) with Children and Self columns, like perf report --stdio.",
        discussion: """
            Examples:
              ember report -i perf.data --no-children --limit 20
              ember report --sort dso,symbol -g caller --percent-limit 2
              ember report --comm demo --sort symbol,srcline --srcline
            """
    )

    @OptionGroup var input: InputOptions
    @OptionGroup var symbols: SymbolFlags
    @OptionGroup var filters: SampleFilterFlags

    @Flag(help: "Accepted for perf's sake: Ember's report is always text.")
    var stdio = false

    @Flag(name: [.customShort("n"), .customLong("show-nr-samples")], help: "A Samples column: how many samples each entry has.")
    var showSamples = false

    @Flag(name: [.customShort("G"), .customLong("inverted")], help: "The call graph from the callers (perf's -G; -g caller).")
    var inverted = false

    @Flag(name: .customLong("no-children"), help: "Only the Self column, sorted by it.")
    var noChildren = false

    @Option(name: [.customShort("s"), .long], help: "Sort keys, comma-separated: comm, pid, tid, cpu, dso, symbol (sym), srcline, address (unresolved code per address), state (on-cpu or off-cpu; first by default for a record --off-cpu recording).")
    var sort: String?

    @OptionGroup var wallClock: WallClockFlags

    @Option(help: ArgumentHelp("Of a heap recording (record --heap, which reads as alloc by default): alloc (bytes allocated), inuse (bytes still allocated when the recording ended) leaks (still allocated when their process exited or exec'd) or peak (allocated when each process's heap was largest).", valueName: "alloc|inuse|leaks|peak"))
    var heap: HeapMode?

    @Option(name: .customShort("g"), help: ArgumentHelp("A call graph under each entry, as perf's -g: caller (what it calls) or callee (who called it), or perf's TYPE,MIN,ORDER (graph,0.5,caller; branches under MIN percent left out, 0.5 unless given); none for no graph.", valueName: "graph"))
    var callGraph: String?

    @Option(parsing: .unconditional, help: "Leave out entries and call-graph branches below this percentage (0 to 100).")
    var percentLimit = 0.0

    @Option(help: "Only these process ids (comma-separated; perf report's spelling of --pids).")
    var pid: String?

    @Option(help: "Only entries in these shared objects (as --dsos).")
    var dso: String?

    @Option(parsing: .unconditional, help: "Print at most this many entries.")
    var limit: Int?

    @Option(help: "The event to report in a recording with several (default: the first).")
    var event: String?

    @Option(parsing: .upToNextOption, help: ArgumentHelp("Compare two recordings: each entry's shares in BEFORE and AFTER and the change in percentage points, largest first (as perf diff).", valueName: "before> <after"))
    var diff: [String] = []

    @Flag(help: "Print what the recording's header says (host, kernel, CPUs, command line, events) before the report.")
    var header = false

    @Flag(name: .customLong("header-only"), help: "Print only what the recording's header says.")
    var headerOnly = false

    func validate() throws {
        guard (0...100).contains(percentLimit) else { throw ValidationError("--percent-limit must be from 0 to 100 (got \(percentLimit))") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1 (got \(limit))") }
        if !diff.isEmpty, diff.count != 2 { throw ValidationError("--diff takes two recordings, BEFORE and AFTER (got \(diff.count))") }
        if !diff.isEmpty, callGraph != nil || inverted || header || headerOnly {
            throw ValidationError("--diff compares entries; it prints no call graph (-g, -G) and no header")
        }
    }

    /// One recording's report model, with the readers' filters (report's keep percentages of every sample).
    private func model(_ path: String, _ options: ReportOptions, _ symbolFlags: SymbolFlags) throws -> (ReportModel, Replay) {
        var options = options
        let replay = try openReplay(path, symbols: symbolFlags)
        options.filter = try filters.filter(replay, pids: pid)
        // --dsos and --symbols pick entries, not samples.
        options.dsos = options.filter.dsos ?? dso.map(SampleFilterFlags.names)
        if options.dsos != nil && !options.keys.contains(.dso) { options.keys.insert(.dso, at: 0) }
        options.symbols = options.filter.symbols
        options.filter.dsos = nil
        options.filter.symbols = nil
        if options.symbols != nil && !options.keys.contains(.symbol) { options.keys.append(.symbol) }
        try filters.apply(to: replay, filtering: false)
        if let mode = FoldOptions.heapMode(heap, event: options.eventName, replay) {
            let profile = try FoldOptions.heapProfile(replay, mode: mode)
            options.eventName = profile.allocEventName
            options.weight = profile.weight(mode)
        } else {
            (options.eventName, options.weight, options.offCPU) = try wallClock.sources(replay, event: options.eventName)
        }
        // Time on the CPU and off it, side by side: a state column tells them apart.
        if options.offCPU != nil, sort == nil { options.keys.insert(.state, at: 0) }
        // Without call chains there is nothing for a Children column to add: perf shows Overhead alone.
        if !replay.events.contains(where: { !$0.attr.sampleType.isDisjoint(with: [.callchain, .stackUser]) }) {
            options.children = false
        }
        do {
            return (try ReportModel(replay, options: options), replay)
        } catch let e as CollapseError {
            throw Diagnostics.fail(e.description)
        }
    }

    /// perf's `-g [TYPE,]MIN[,PRINT_LIMIT],ORDER[,KEY]` as far as a text report has it: graph (or fractal, drawn as
    /// graph), the cut-off, caller or callee, function keys; or none.
    static func callGraph(_ text: String) throws -> (order: CallGraphOrder?, limit: Double?) {
        var order: CallGraphOrder? = .caller, limit: Double?
        for part in text.split(separator: ",").map(String.init) {
            switch part {
            case "graph", "fractal", "function": continue
            case "none": order = nil
            case "caller", "callee": order = CallGraphOrder(rawValue: part)
            default:
                guard let number = Double(part), (0...100).contains(number) else {
                    throw Diagnostics.fail("-g takes caller, callee, none or perf's graph,MIN,ORDER (such as graph,0.5,caller), not '\(text)'")
                }
                if limit == nil { limit = number }  // a second number is perf's print limit
            }
        }
        return (order, limit)
    }

    func run() throws {
        if headerOnly {
            let file: PerfDataFile
            do {
                file = try PerfDataFile(path: input.input)
            } catch {
                throw Diagnostics.fail("\(input.input): \(error)")
            }
            let out = TextOutput(fd: 1)
            out.write(HeaderWriter.render(file))
            try finishOutput(out)
            return
        }
        var options = ReportOptions()
        options.keys = []
        for name in (sort ?? "comm,dso,symbol").split(separator: ",") {
            // perf's spellings: sym, and the shared object as dso.
            guard let key = ReportKey(rawValue: name == "sym" ? "symbol" : String(name)) else {
                throw Diagnostics.fail("unknown sort key '\(name)'; use comm, pid, tid, cpu, dso, symbol (sym), srcline, address or state")
            }
            options.keys.append(key)
        }
        guard !options.keys.isEmpty else { throw Diagnostics.fail("--sort needs at least one key") }
        options.children = !noChildren
        let graph: (order: CallGraphOrder?, limit: Double?) = try callGraph.map(Report.callGraph) ?? (nil, nil)
        options.callGraph = inverted ? .caller : graph.order
        options.eventName = event
        var symbolFlags = symbols
        if options.keys.contains(.srcline) { symbolFlags.srcline = true }
        if diff.count == 2 {
            let (before, beforeReplay) = try model(diff[0], options, symbolFlags)
            // Both sides sorted and split alike: the AFTER side's Children column only if both have call chains.
            options.children = before.options.children
            let (after, afterReplay) = try model(diff[1], options, symbolFlags)
            guard before.eventName == after.eventName else {
                throw Diagnostics.fail("\(diff[0]) samples \(before.eventName) but \(diff[1]) samples \(after.eventName); compare recordings of one event (choose it with --event)")
            }
            var writer = ReportDiffWriter()
            writer.limit = limit
            writer.percentLimit = percentLimit
            let out = TextOutput(fd: 1)
            out.write(writer.render(before: before, after: after, beforeName: diff[0], afterName: diff[1]))
            try finishOutput(out)
            report(beforeReplay)
            report(afterReplay)
            return
        }
        let (model, replay) = try model(input.input, options, symbolFlags)
        var writer = ReportWriter()
        writer.percentLimit = percentLimit
        if let limit = graph.limit { writer.callGraphLimit = limit }
        writer.limit = limit
        writer.sampleCounts = showSamples
        writer.lostSamples = replay.lostRecords
        writer.timeSlices = filters.time
        writer.leafRepairs = (replay.resolver.repairedStacks, replay.resolver.repairableStacks)
        let r = replay.resolver
        writer.stackTails = (r.tailExtendedStacks, r.tailCompletedStacks, r.tailRefusedStacks, r.unwoundStacks)
        writer.asyncStacks = (r.asyncStacks, r.asyncChainsRefused)
        let columns = ember_terminal_width(1)
        writer.width = columns > 0 ? Int(columns) : nil
        let out = TextOutput(fd: 1)
        if header, let file = replay.file { out.write(HeaderWriter.render(file)) }
        out.write(writer.render(model))
        try finishOutput(out)
        report(replay)
    }
}
