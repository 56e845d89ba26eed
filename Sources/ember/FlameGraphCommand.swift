import ArgumentParser
import EmberKernel
import EmberPerfData
import EmberRecord
import EmberRender
import EmberReplay
import EmberStacks
#if canImport(Glibc)
import Glibc
#endif

extension FlameGraphPalette: ExpressibleByArgument {}

struct FlameGraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flamegraph",
        abstract: "Write an interactive SVG flame graph from a recording or a folded file.",
        discussion: """
            Examples:
              ember flamegraph -i perf.data -o flame.svg --colors kind
              ember flamegraph -- ./app --workers 4        (records the command, draws it, names its 5 hottest functions)
              ember flamegraph --off-cpu -- ./server       (its time on the CPU and off it, blocked)
              ember flamegraph --off-cpu-only -- ./server  (only where it blocks)
            """
    )

    @Option(name: [.customShort("i"), .long], help: "The perf.data file to read (default perf.data).")
    var input: String?

    @Option(help: "Read folded stacks ('a;b;c 12' lines) instead of a recording; - reads standard input.")
    var folded: String?

    @Option(name: [.customShort("o"), .customLong("output")], help: "The SVG to write (- for standard output; default flame.svg, or scope.html with --heatmap).")
    var outputOption: String?

    /// The file written: `-o`, else by what is drawn.
    var output: String { outputOption ?? (heatmap ? "scope.html" : "flame.svg") }

    @Option(help: "A second line under the title.")
    var subtitle: String?

    @Option(name: .customLong("countname"), help: "What the weights count, in the hover text (default: ns for clock events, else samples or events).")
    var countName: String?

    @Flag(help: "Accepted for flamegraph.pl users: Ember always colours a frame by a hash of its name.")
    var hash = false

    @Flag(help: "Accepted for flamegraph.pl users: the same name gets the same colour in every Ember graph, with no palette.map file.")
    var cp = false

    @Flag(name: .customLong("search-case-sensitive"), help: "Search frame names with case (by default the search ignores it, as flamegraph.pl --ignorecase).")
    var searchCaseSensitive = false

    @Option(name: .customLong("fontsize"), parsing: .unconditional, help: "Font size in points (4 to 72).")
    var fontSize = 12

    @Option(name: .customLong("height"), parsing: .unconditional, help: "Height of each frame in pixels (8 to 100).")
    var frameHeight = 16

    @Flag(help: "Merge the stacks leaf first (a stack-reversed graph, as flamegraph.pl --reverse).")
    var reverse = false

    @Flag(help: "A flame chart: each thread's samples along a time axis, a lane per thread, frames spanning the samples that share them.")
    var flamechart = false

    @Flag(help: "FlameScope's view, one HTML page (-o scope.html by default): a heat map of the recording's seconds by their 20 ms slices, and the flame graph of the range selected on it.")
    var heatmap = false

    @Option(parsing: .upToNextOption, help: ArgumentHelp("A differential flame graph of two profiles (recordings or folded files): AFTER's shape, red where it grew, blue where it shrank.", valueName: "before> <after"))
    var diff: [String] = []

    @Flag(inversion: .prefixedNo, help: "With --diff, compare shares rather than counts: BEFORE scaled to AFTER's total.")
    var normalize = true

    @Flag(help: "With --diff, draw BEFORE's shape instead (still red where AFTER grew).")
    var negate = false

    @Flag(name: .customLong("diff-inclusive"), help: "With --diff, colour a frame by the change of its inclusive weight (a caller reddens with any callee that grew), not by the change of its own share (the default, as difffolded).")
    var diffInclusive = false

    @Option(name: .customLong("diff-threshold"), help: ArgumentHelp("With --diff, changes of a frame's own share smaller than this many percentage points stay white.", valueName: "points"))
    var diffThreshold = 0.1

    @Option(help: "Title at the top of the graph.")
    var title: String?

    @Option(parsing: .unconditional, help: "Width of the image in pixels (100 or more).")
    var width = 1200

    @Option(parsing: .unconditional, help: "Omit frames narrower than this many pixels.")
    var minwidth = 0.1

    @Flag(help: "Icicle graph: the root at the top.")
    var inverted = false

    @Option(help: "Palette: hot (default; io with --off-cpu-only), kind (kernel, program, libraries), mem, io, blue, green.")
    var colors: FlameGraphPalette?

    @OptionGroup var fold: FoldOptions
    @OptionGroup var symbols: SymbolFlags
    @OptionGroup var filters: SampleFilterFlags

    @Flag(name: .customLong("off-cpu"), help: "With a command: record its time off the CPU too (as record --off-cpu), drawn in blue beside its CPU samples.")
    var offCPU = false

    @Argument(parsing: .captureForPassthrough, help: "A command to record and draw at once (after --): stacks at 999 Hz, or with --off-cpu-only where it blocks.")
    var command: [String] = []

    func validate() throws {
        if input != nil && folded != nil { throw ValidationError("give either -i FILE or --folded FILE, not both") }
        if !command.isEmpty, input != nil || folded != nil || !diff.isEmpty {
            throw ValidationError("a command after -- is recorded and drawn; give it, or -i, --folded or --diff, not both")
        }
        if offCPU, command.isEmpty {
            throw ValidationError("--off-cpu records a command (after --); a recording made with record --off-cpu is drawn on and off the CPU by default")
        }
        if offCPU, fold.offcpu || fold.onCPUOnly { throw ValidationError("--off-cpu records both halves; drop --off-cpu-only or --on-cpu-only") }
        if folded != nil && (fold.count || fold.pid || fold.tid || fold.event != nil || fold.offcpu || fold.wakers) {
            throw ValidationError("--count, --pid, --tid, --event, --off-cpu-only and --wakers choose stacks from a recording; a folded file has them already")
        }
        if !diff.isEmpty {
            guard diff.count == 2 else { throw ValidationError("--diff takes two profiles, BEFORE and AFTER (got \(diff.count))") }
            guard input == nil, folded == nil, !flamechart else { throw ValidationError("--diff reads its two profiles; give no -i, --folded or --flamechart") }
        } else if negate || !normalize {
            throw ValidationError("--negate and --no-normalize go with --diff BEFORE AFTER")
        }
        if fold.heap != nil && (heatmap || flamechart || folded != nil || !diff.isEmpty) {
            throw ValidationError("--heap folds a heap recording's allocations by stack; give -i FILE, without --heatmap, --flamechart, --folded or --diff")
        }
        if heatmap && (folded != nil || !diff.isEmpty || flamechart || reverse) {
            throw ValidationError("--heatmap draws a recording's samples by time; give -i FILE (or a command), without --folded, --diff, --flamechart or --reverse")
        }
        if flamechart && (folded != nil || reverse || inverted || fold.offcpu || fold.count) {
            throw ValidationError(folded != nil ? "--flamechart needs a recording (-i FILE): folded stacks have no time order"
                                  : reverse ? "--flamechart keeps stacks in time order; it cannot also --reverse them"
                                  : inverted ? "--flamechart hangs each thread's stacks from its name already; drop --inverted"
                                  : fold.count ? "--flamechart draws time, not weights; drop --count"
                                  : "--flamechart places samples in time; --off-cpu-only weighs them by time blocked instead: record with --off-cpu for a chart of both")
        }
        guard diffThreshold >= 0, diffThreshold.isFinite else { throw ValidationError("--diff-threshold takes percentage points, 0 or more (got \(diffThreshold))") }
        guard width >= 100 else { throw ValidationError("--width must be 100 pixels or more (got \(width))") }
        guard minwidth >= 0 else { throw ValidationError("--minwidth must not be negative") }
        guard (4...72).contains(fontSize) else { throw ValidationError("--fontsize must be from 4 to 72 (got \(fontSize))") }
        guard (8...100).contains(frameHeight) else { throw ValidationError("--height must be from 8 to 100 pixels (got \(frameHeight))") }
    }

    /// `options` with the drawing flags applied.
    private func finished(_ options: FlameGraphOptions) -> FlameGraphOptions {
        var options = options
        if let countName { options.countName = countName }
        options.searchIgnoresCase = !searchCaseSensitive
        options.fontSize = fontSize
        options.frameHeight = frameHeight
        options.width = width
        options.minWidth = minwidth
        options.inverted = inverted
        // Off-CPU time in io's blues; a heap profile chose mem's greens already; else hot, unless --colors says.
        if let colors { options.palette = colors } else if fold.offcpu { options.palette = .io }
        return options
    }

    func run() throws {
        try checkOutput(output)
        var status: Int32 = 0
        var profile = FoldedProfile()
        var chart: String?
        var options = FlameGraphOptions()
        if diff.count == 2 {
            let (before, beforeEvent) = try side(diff[0])
            let (after, afterEvent) = try side(diff[1])
            if let beforeEvent, let afterEvent, beforeEvent != afterEvent {
                throw Diagnostics.fail("\(diff[0]) samples \(beforeEvent) but \(diff[1]) samples \(afterEvent); compare profiles of one event (choose it with --event)")
            }
            profile = negate ? FoldedProfile.differential(before: after, after: before, normalize: normalize)
                             : FoldedProfile.differential(before: before, after: after, normalize: normalize)
            options.negated = negate
            options.diffInclusive = diffInclusive
            options.diffThreshold = diffThreshold
            let event = beforeEvent ?? afterEvent
            options.countName = fold.count || event == nil ? "samples" : EventSpec.named(event!)?.isClock == true ? "ns" : "events"
            options.title = "Differential Flame Graph"
            options.subtitle = (negate ? "\(diff[0])'s shape" : "\(diff[1])'s shape") + ", red where \(diff[1]) grew against \(diff[0]), blue where it shrank"
                + (diffInclusive ? " (inclusive weights" + (normalize ? ", shares compared)" : ")")
                                 : " (each frame's own share, white within \(diffThreshold) points)")
            // How long each side covers, where it is a recording.
            let spans = [(diff[0], before.seconds), (diff[1], after.seconds)].compactMap { name, seconds in
                seconds.map { "\(name) over \(formatSeconds($0)) s" }
            }
            if !spans.isEmpty { options.subtitle! += "; " + spans.joined(separator: ", ") }
        } else if let folded {
            profile = try FlameGraphCommand.readFolded(folded)
        } else {
            var path = input ?? "perf.data"
            if !command.isEmpty {
                var argv = command
                if let first = argv.first, first != "--", first.hasPrefix("-"), first.count > 1 {
                    throw Diagnostics.fail(Suggestions.unknownOption(first, of: FlameGraphCommand.self), status: 64)
                }
                if argv.first == "--" { argv.removeFirst() }
                let recorded = try recordCommand(argv)
                path = recorded.path
                status = recorded.status
            }
            defer { if !command.isEmpty { unlink(path) } }
            let replay = try openReplay(path, symbols: symbols)
            try filters.apply(to: replay)
            let event = replay.events[replay.eventIndex(named: fold.event) ?? 0]
            options.subtitle = "\(path): event \(event.name)"
            if heatmap {
                let page = ScopeWriter(title: title ?? "FlameScope: \(event.name) of \(path)", subtitle: subtitle ?? "\(path): event \(event.name)")
                    .render(try fold.timed(replay))
                try writeOutput(output, Array(page.utf8))
                report(replay)
                Diagnostics.note("wrote \(outputName(output))")
                if status != 0 { throw ExitCode(status) }
                return
            }
            if flamechart {
                options.title = title ?? "Flame Chart"
                if let subtitle { options.subtitle = subtitle }
                chart = FlameChart.render(try fold.timed(replay), clock: EventSpec.named(event.name)?.isClock == true, options: finished(options))
            } else {
                profile = try fold.fold(replay)
            }
            // Weights are sample periods: nanoseconds for the clock events.
            options.countName = fold.count ? "samples" : (EventSpec.named(event.name)?.isClock == true || fold.offcpu ? "ns" : "events")
            if fold.foldsBothHalves(replay) {
                options.title = "Wall-clock time"
                options.subtitle = "\(path): time on the CPU (sampled) and off it (blocked, in blue, under [off-cpu]), by stack"
            }
            if fold.offcpu {
                options.title = fold.wakers ? "Off-CPU time with wakers" : "Off-CPU time"
                options.subtitle = "\(path): time blocked, by the stack each thread blocked in"
                    + (fold.wakers ? "; above '--', the stack that woke it (leaf first) and the waker" : "")
            }
            if let mode = fold.heapMode(replay) {
                options.title = mode.title
                options.subtitle = "\(path): \(mode.explanation)"
                options.countName = fold.count ? "allocations" : "bytes"
                options.palette = .mem
            }
            // How long the picture covers (a flame chart's subtitle gives its times already).
            if let seconds = profile.seconds { options.subtitle = (options.subtitle ?? "") + ", over \(formatSeconds(seconds)) s" }
            report(replay)
        }
        if let title { options.title = title }
        if let subtitle { options.subtitle = subtitle }
        var svg = chart ?? FlameGraph.render(reverse ? profile.reversed : profile, options: finished(options))
        try svg.withUTF8 { try writeOutput(output, Array($0)) }
        Diagnostics.note("wrote \(outputName(output))" + (chart == nil ? " (\(profile.weights.count) stacks)" : ""))
        if !command.isEmpty {
            let hottest = FlameGraphCommand.hottest(profile, userLeaves: fold.offcpu)
            let heading = fold.offcpu ? "where it blocked longest (the innermost function outside the kernel)"
                : offCPU ? "where its time went (own time on the CPU; off-CPU, the function it blocked in)" : "hottest functions (their own time)"
            if !hottest.isEmpty { fputs("\(heading):\n" + hottest.map { "  " + $0 + "\n" }.joined(), stderr) }
        }
        if status != 0 { throw ExitCode(status) }
    }
}

extension FlameGraphCommand {
    /// A folded file's stacks, with one warning for the lines that are not stacks.
    static func readFolded(_ path: String) throws -> FoldedProfile {
        let profile: FoldedProfile
        do {
            // Folded stacks are text: a NUL in the first bytes (a binary, /dev/zero) is refused before more is read.
            let bytes = try readInput(path, head: 4096) { head in
                guard !head.contains(0) else { throw FoldedInputError.binary }
            }
            profile = try FoldedProfile.parse(Substring(decoding: bytes, as: UTF8.self))
        } catch let e as InputError {
            throw Diagnostics.fail("\(e)")
        } catch {
            throw Diagnostics.fail("\(path == "-" ? "standard input" : path): \(error)")
        }
        guard !profile.weights.isEmpty else {
            throw Diagnostics.fail("\(path == "-" ? "standard input" : path) holds no folded stacks ('frame;frame;... weight' lines); fold a recording with ember collapse")
        }
        if let first = profile.firstSkipped {
            let lines = profile.skippedLines == 1 ? "1 line" : "\(profile.skippedLines) lines"
            Diagnostics.warning("\(path): skipped \(lines) that are not folded stacks ('frame;frame;... weight'); the first, \(first)")
        }
        return profile
    }

    /// One side of --diff: a recording or an archive folded as -i would be (with its event's name), or a folded file.
    func side(_ path: String) throws -> (FoldedProfile, event: String?) {
        guard let head = readSmallFileBytes(path, limit: 8) else { throw Diagnostics.fail("cannot read \(path): \(Errno.current)") }
        guard PerfDataFile.startsLikeRecording(head) else { return (try FlameGraphCommand.readFolded(path), nil) }
        let replay = try openReplay(path, symbols: symbols)
        try filters.apply(to: replay)
        let profile = try fold.fold(replay)
        report(replay)
        return (profile, replay.events[replay.eventIndex(named: fold.event) ?? 0].name)
    }
}

/// Refuses an output path that Ember may not replace (a device, FIFO, directory or symlink), before any work.
func checkOutput(_ path: String) throws {
    guard path != "-" else { return }
    do {
        try OutputFile.checkReplaceable(path)
    } catch {
        throw Diagnostics.fail("\(error)")
    }
}

/// How an output path reads in a message: `-` is standard output.
func outputName(_ path: String) -> String { path == "-" ? "standard output" : path }

/// Writes an output file whole, through a temporary file renamed into place (`OutputFile`); `-` is stdout.
func writeOutput(_ path: String, _ bytes: [UInt8]) throws {
    do {
        guard path == "-" else { return try OutputFile.replace(path, with: bytes) }
        do {
            try bytes.withUnsafeBytes { try writeAll(fd: 1, $0) }
        } catch let e as Errno {
            throw OutputFileError.writeFailed(path: "standard output", errno: e)
        }
    } catch let e as OutputFileError {
        throw Diagnostics.fail("\(e)")
    }
}

/// A folded input that is not text.
enum FoldedInputError: Error, CustomStringConvertible {
    case binary

    var description: String { "this is binary data, not folded stacks ('frame;frame;... weight' lines); for a recording use -i" }
}
