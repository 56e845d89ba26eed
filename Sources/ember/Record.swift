import ArgumentParser
import EmberHeap
import EmberKernel
import EmberLatency
import EmberRecord
#if canImport(Glibc)
import Glibc
#endif

struct Record: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Sample a command, processes or all CPUs into a perf.data file.",
        discussion: """
            Examples:
              ember record -g -- ./demo 2
              ember record -F 4999 -p 1234 --duration 10
              ember record -a -g --duration 5 -o system.data
            """
    )

    @Option(name: [.customShort("F"), .customLong("freq")], parsing: .unconditional,
            help: ArgumentHelp("Samples per second (default 999), or max: the kernel's current limit.", valueName: "hz|max"))
    var frequency: String?

    @Option(name: [.customShort("c"), .customLong("count")], parsing: .unconditional,
            help: "Sample every PERIOD events instead of at a frequency (1 to 2^63-1, the kernel's range).")
    var period: Int64?

    @Flag(name: .customShort("g"), help: "Record frame-pointer call chains, their leaves repaired (same as --call-graph fp).")
    var callGraphFP = false

    @Option(name: .customLong("call-graph"), help: "Call-graph mode: fp, as -g (the kernel's frame-pointer chain, and the user registers and 512 bytes of stack, kept beside the samples, from which Ember's readers put back the callers that functions without frame pointers, such as libc's, hide; perf reads plain frame-pointer samples), fp,norepair (the kernel's chain alone), or dwarf[,SIZE] (copy SIZE bytes of user stack per sample, default 8192, and unwind it through CFI).")
    var callGraph: String?

    @Flag(name: .customLong("no-async-stacks"), help: "Do not take Swift async context chains with the samples (taken by default with --call-graph dwarf and -g into a file, by a BPF program, so that the readers show async code's awaiting callers).")
    var noAsyncStacks = false

    @Flag(name: .customLong("no-stack-tail"), help: "With --call-graph dwarf: do not keep the rest of a thread's stack when a sample's copy is full (by default a BPF program takes it with the sample, or for a tracepoint it is read once per thread at each drain, and it is kept beside the samples, its part shared with the thread's earlier tails once, so that deep stacks unwind to their root).")
    var noStackTail = false

    @Option(name: [.customShort("m"), .customLong("mmap-pages")], parsing: .unconditional,
            help: ArgumentHelp("Data pages per CPU ring buffer, a power of two up to 1048576 (default 128), or a size such as 16M (rounded up to a power of two pages).", valueName: "pages|size"))
    var mmapPagesText: String?

    @Flag(name: .customLong("off-cpu"), help: "Wall-clock profile: also the time the command's threads spend off the CPU (blocked), as the stacks they block in weighted by how long, beside the CPU samples (frame-pointer stacks unless --call-graph says otherwise).")
    var offCPU = false

    @Flag(help: "Heap profile: start the command with libember-heap.so preloaded and record its sampled allocations and their frees (with -g or --call-graph dwarf, their stacks), instead of CPU samples (add some with -e); -p takes processes started with the shim. Read with collapse, flamegraph, report or pprof --heap alloc|inuse|leaks|peak.")
    var heap = false

    @Option(name: .customLong("heap-rate"), parsing: .unconditional, help: ArgumentHelp("With --heap: the mean bytes allocated between two samples (default 524288, as tcmalloc's; 1 samples every allocation).", valueName: "bytes"))
    var heapRate: String?

    @Flag(name: .customLong("heap-uprobes"), help: "A heap profile without the shim, as bcc's memleak takes one: a uprobe on every malloc (and its return) and free in libc, of any process; every call then stops in the kernel, so allocation-heavy code runs many times slower. A realloc frees its old block; its new block, calloc and the aligned allocators are not seen.")
    var heapUprobes = false

    @Flag(help: "Flight recorder: keep only the newest samples, in overwrite rings (-m sets how many), and write them to OUTPUT.<timestamp> on SIGUSR2 and at the end.")
    var overwrite = false

    @Option(name: .customLong("switch-output"), help: ArgumentHelp("Write OUTPUT.<timestamp> files, starting the next on SIGUSR2 (signal), at a size (100M) or after a time (30s, 5m); with --overwrite, signal (the default).", valueName: "signal|size|time"))
    var switchOutput: String?

    @Option(name: .customLong("switch-max-files"), help: ArgumentHelp("Keep only the newest N snapshot or --switch-output files, deleting older ones.", valueName: "n"))
    var switchMaxFiles: Int?

    @Flag(name: .customLong("no-final-snapshot"), help: "With --overwrite: write no snapshot when the recording ends.")
    var noFinalSnapshot = false

    @Option(name: .customLong("switch-output-event"), help: ArgumentHelp("Write a snapshot (or start the next file) whenever this event fires: a tracepoint, uprobe or USDT probe, as -e takes them.", valueName: "event"))
    var switchOutputEvent: String?

    @Option(name: .customLong("snapshot-on-latency"), help: ArgumentHelp("With --overwrite: a snapshot after each call of the function slower than DURATION (ns, us, ms or s), through a uprobe and uretprobe pair: ./server:handle_request>50ms.", valueName: "binary:symbol>duration"))
    var snapshotOnLatency: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("With --overwrite: size each CPU's ring to keep at least this many seconds of samples at the sampling rate and call-graph mode (instead of -m).", valueName: "seconds"))
    var history: Double?

    @Option(name: .customLong("snapshot-min-interval"), parsing: .unconditional, help: ArgumentHelp("At most one snapshot per this many seconds from --switch-output-event or --snapshot-on-latency (default 1).", valueName: "seconds"))
    var snapshotMinInterval: Double?

    @Option(name: [.customShort("o"), .long], help: "Output file; an existing regular file becomes FILE.old.")
    var output = "perf.data"

    @Flag(name: [.customShort("T"), .customLong("timestamp")], help: "Accepted for perf's sake: Ember always records each sample's time.")
    var timestamp = false

    @Flag(name: .customLong("sample-cpu"), help: "Accepted for perf's sake: Ember always records each sample's CPU.")
    var sampleCPU = false

    @Flag(name: [.customShort("q"), .long], help: "No progress line.")
    var quiet = false

    @Flag(help: "Progress while a command runs on the same terminal, in the window's title, where its output cannot mix with it (without a command, -p or -a, progress is a line on the terminal by default).")
    var progress = false

    @OptionGroup var events: EventOptions
    @OptionGroup var target: TargetOptions
    @OptionGroup var scope: ScopeOptions

    mutating func run() throws {
        let options: RecordOptions
        do {
            options = try makeOptions()
        } catch let message as UsageProblem {
            throw Diagnostics.fail(message.text)
        }
        let summary = try Record.record(options)
        let file = options.overwrite || options.switchOutput != nil ? summary.snapshots.last : options.output
        let sampled = options.events.allSatisfy { if case .counter = $0.request { return true } else { return false } }
        if case .command(let argv) = options.target, case .frequency(let hz) = options.sampling, sampled, summary.seconds >= 0.1,
           !options.overwrite, Double(summary.samples) < 0.2 * Double(hz) * summary.seconds {
            // A command that mostly waited: a flame graph of its few samples shows little of where its time went.
            // (A flight recorder's snapshots keep only the newest samples, and say how long they cover.)
            Diagnostics.note("the command was on a CPU for little of its \(formatSeconds(summary.seconds)) s (\(summary.samples) samples at \(hz) Hz); where its time went, on the CPU and off it: ember record --off-cpu -- \(argv.joined(separator: " ")) (or at once, ember flamegraph --off-cpu -- ...)")
        } else if let file, file != "-", summary.samples > 0, !summary.writeFailed {
            Diagnostics.note(heap || heapUprobes ? "next: ember report -i \(file) --heap inuse, ember flamegraph -i \(file) --heap alloc -o heap.svg, or ember pprof -i \(file) (a Go heap profile)"
                                  : "next: ember report -i \(file), or ember flamegraph -i \(file) -o flame.svg")
        }
        if summary.exitStatus != 0 { throw ExitCode(summary.exitStatus) }
        if summary.writeFailed { throw ExitCode(1) }
    }

    struct UsageProblem: Error { var text: String }

    /// `--overwrite` and the options that go with it.
    private func flightOptions(_ options: inout RecordOptions) throws {
        if let switchOutput {
            let mode = try Record.switchOutputMode(switchOutput)
            if overwrite, mode != .signal {
                throw UsageProblem(text: "--overwrite writes snapshots on a signal or an event, not by \(switchOutput); drop --overwrite to rotate files by size or time")
            }
            if !overwrite { options.switchOutput = mode }
        }
        if let switchMaxFiles, switchMaxFiles < 1 {
            throw UsageProblem(text: "--switch-max-files must be 1 or more (got \(switchMaxFiles))")
        }
        if noFinalSnapshot, !overwrite { throw UsageProblem(text: "--no-final-snapshot goes with --overwrite") }
        if let switchOutputEvent {
            do {
                options.snapshotEvent = try EventRequest.parse(switchOutputEvent)
            } catch {
                throw UsageProblem(text: "--switch-output-event: \(error)")
            }
            if !overwrite, options.switchOutput == nil { options.switchOutput = .signal }
        }
        if let snapshotOnLatency {
            guard overwrite else { throw UsageProblem(text: "--snapshot-on-latency writes snapshots of --overwrite rings; add --overwrite") }
            options.slowCall = try Record.slowCall(snapshotOnLatency)
        }
        if let snapshotMinInterval {
            guard switchOutputEvent != nil || snapshotOnLatency != nil else { throw UsageProblem(text: "--snapshot-min-interval goes with --switch-output-event or --snapshot-on-latency") }
            guard snapshotMinInterval >= 0, snapshotMinInterval.isFinite else {
                throw UsageProblem(text: "--snapshot-min-interval must be 0 or more seconds (got \(snapshotMinInterval))")
            }
            options.snapshotMinInterval = snapshotMinInterval
        }
        if switchMaxFiles != nil, !overwrite, options.switchOutput == nil {
            throw UsageProblem(text: "--switch-max-files goes with --overwrite or --switch-output")
        }
        if overwrite || options.switchOutput != nil, output == "-" {
            throw UsageProblem(text: "\(overwrite ? "--overwrite" : "--switch-output") writes files named after -o; give a file name, not -")
        }
        options.overwrite = overwrite
        options.switchMaxFiles = switchMaxFiles
        options.finalSnapshot = !noFinalSnapshot
    }

    /// `--off-cpu`: the switches each of the target's threads blocks in, with their stacks, and its context switches
    /// for when it runs again, beside the samples; a file the readers fold into on- and off-CPU time together.
    private func offCPUOptions(_ options: inout RecordOptions) throws {
        if case .allCPUs = options.target {
            throw UsageProblem(text: "--off-cpu follows a command or -p processes, not every CPU; for the whole machine, ember latency --offcpu -a")
        }
        if overwrite || switchOutput != nil { throw UsageProblem(text: "--off-cpu writes one recording; drop --overwrite and --switch-output") }
        if options.events.contains(where: { if case .counter(let spec, _) = $0.request { return !spec.isClock } else { return true } }) {
            throw UsageProblem(text: "--off-cpu weighs its samples in time: sample cpu-clock or task-clock (the default), not other events")
        }
        options = try OffCPUTime.wallClock(options)
    }

    /// `--heap`: the heap shim's probes, and the command started with it.
    private func heapOptions(_ options: inout RecordOptions) throws {
        guard heap || heapUprobes else { throw UsageProblem(text: "--heap-rate goes with --heap") }
        if heapUprobes, heapRate != nil { throw UsageProblem(text: "--heap-uprobes sees every allocation; --heap-rate is the shim's (--heap)") }
        if offCPU || overwrite || switchOutput != nil { throw UsageProblem(text: "--heap writes one recording of allocations; drop --off-cpu, --overwrite and --switch-output") }
        var rate = HeapShim.defaultRate
        if let heapRate {
            guard let bytes = try? Record.bytes(heapRate), bytes > 0 else {
                throw UsageProblem(text: "--heap-rate takes the mean bytes between samples, such as 524288 or 512K (at least 1), not '\(heapRate)'")
            }
            rate = bytes
        }
        let extra = events.event.isEmpty ? [] : options.events
        do {
            if heapUprobes {
                options = try HeapShim.uprobeRecording(options, extra: extra)
                Diagnostics.note("--heap-uprobes: every malloc and free stops in the kernel (three probes a block); allocation-heavy code runs many times slower than with the shim (--heap)")
            } else {
                options = try HeapShim.recording(options, rate: rate, extra: extra)
            }
        } catch let e as HeapError {
            throw UsageProblem(text: e.description)
        }
    }

    /// A size in bytes, with an optional K, M or G (powers of 1024).
    static func bytes(_ text: String) throws -> UInt64 {
        let units: [String: UInt64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        if let unit = text.last.flatMap({ units[String($0).uppercased()] }), let n = UInt64(text.dropLast()), n <= UInt64.max / unit {
            return n * unit
        }
        guard let n = UInt64(text) else { throw UsageProblem(text: "not a size: '\(text)'") }
        return n
    }

    /// `--switch-output`: signal, a size (`100M`: B, K, M or G) or a time (`30s`: s, m, h or d), as perf takes it
    /// (`M` is megabytes, `m` minutes).
    static func switchOutputMode(_ text: String) throws -> RecordOptions.SwitchOutput {
        if text == "signal" { return .signal }
        let sizes: [Character: UInt64] = ["B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        if let last = text.last, let unit = sizes[last], let n = Double(text.dropLast()), n > 0, n * Double(unit) < 1.8e19 {
            return .size(UInt64(n * Double(unit)))
        }
        if let seconds = DurationText.seconds(text), seconds > 0 { return .time(seconds) }
        throw UsageProblem(text: "--switch-output takes signal, a size such as 100M or a time such as 30s or 5m, not '\(text)'")
    }

    /// `BINARY:SYMBOL>DURATION`, the duration in ns, us, ms or s.
    static func slowCall(_ text: String) throws -> (binary: String, symbol: String, nanoseconds: UInt64) {
        let problem = UsageProblem(text: "--snapshot-on-latency takes BINARY:SYMBOL>DURATION, such as ./server:handle_request>50ms, not '\(text)'")
        guard let gt = text.lastIndex(of: ">"), let colon = text[..<gt].lastIndex(of: ":") else { throw problem }
        let binary = String(text[..<colon]), symbol = String(text[text.index(after: colon)..<gt])
        guard !binary.isEmpty, !symbol.isEmpty, let ns = DurationText.nanoseconds(String(text[text.index(after: gt)...])), ns > 0,
              ns < 1_000_000_000_000_000_000 else { throw problem }
        return (binary, symbol, ns)
    }

    /// `-m`: pages (as given), or a size with K, M or G, rounded up to a power of two pages, as perf does.
    static func pages(_ text: String?) throws -> Int {
        guard let text else { return 128 }
        if let pages = Int(text) { return pages }
        let unitless = text.uppercased().hasSuffix("B") ? String(text.dropLast()) : text
        // A size says its unit: a bare number is pages.
        guard unitless.last?.isLetter == true, let size = try? Record.bytes(unitless), size > 0,
              size <= UInt64(Record.maxPages * RingBuffer.pageSize) else {
            throw UsageProblem(text: "-m takes a number of pages (a power of two) or a size such as 512K or 16M, not '\(text)'")
        }
        var pages = 1
        while UInt64(pages * RingBuffer.pageSize) < size { pages *= 2 }
        return pages
    }

    private func makeOptions() throws -> RecordOptions {
        var options = RecordOptions(target: try target.target(verb: "record", owner: Record.self))
        options.events = try events.events(defaults: ["cpu-clock"], command: target.command)
        if frequency != nil && period != nil { throw UsageProblem(text: "-F and -c both set the sampling rate; use one") }
        if let frequency {
            let hz = frequency == "max" ? Sysctl.perfEventMaxSampleRate.value.map(Int64.init) : Int64(frequency)
            guard let hz, hz > 0 else {
                throw UsageProblem(text: "-F takes a number of samples per second (at least 1) or max, not '\(frequency)'")
            }
            options.sampling = .frequency(UInt64(hz))
            options.samplingIsDefault = false
        } else if let period {
            guard period > 0 else { throw UsageProblem(text: "-c must be from 1 to 2^63-1 events (got \(period))") }
            options.sampling = .period(UInt64(period))
            options.samplingIsDefault = false
        }
        options.callGraph = try Record.callGraphMode(callGraph, framePointer: callGraphFP)
        options.repairsLeaves = Record.repairsLeaves(callGraph, options.callGraph, output: output, flight: overwrite)
        options.readsStackTails = !noStackTail
        options.takesAsyncChains = !noAsyncStacks
        if offCPU { try offCPUOptions(&options) }
        if heap || heapRate != nil || heapUprobes { try heapOptions(&options) }
        // Every malloc and free of --heap-uprobes: 8 MiB rings, where the default's 512 KiB lost a third of a
        // C program's events; the shim's recordings come with theirs (`HeapShim.ringPages`).
        let mmapPages = try mmapPagesText.map(Record.pages) ?? (heapUprobes ? Record.pages("8M") : options.mmapPages)
        guard mmapPages > 0, mmapPages <= Record.maxPages else {
            throw UsageProblem(text: "-m \(mmapPages) is out of range; give a power of two from 1 to \(Record.maxPages) pages (default 128)")
        }
        guard mmapPages & (mmapPages - 1) == 0 else {
            throw UsageProblem(text: "-m \(mmapPages) is not a power of two; use a value such as 16, 64, 128 or 512")
        }
        if case .dwarf(let bytes) = options.callGraph {
            let minimum = Record.minimumPages(stackBytes: bytes)
            guard mmapPages >= minimum else {
                throw UsageProblem(text: "-m \(mmapPages) is too small for --call-graph dwarf,\(bytes): each sample copies \(bytes) bytes of stack; use -m \(minimum) or more (or a smaller stack size)")
            }
        }
        options.mmapPages = mmapPages
        if let history {
            guard overwrite else { throw UsageProblem(text: "--history sizes the rings of --overwrite; add --overwrite") }
            guard mmapPagesText == nil else { throw UsageProblem(text: "--history and -m both size the rings; use one") }
            guard history > 0, history.isFinite else { throw UsageProblem(text: "--history must be more than 0 seconds (got \(history))") }
            options.history = history
            var minimum = 1
            if case .dwarf(let bytes) = options.callGraph { minimum = Record.minimumPages(stackBytes: bytes) }
            options.mmapPages = max(options.pages(forHistory: history), minimum)
        }
        options.inherit = !scope.noInherit
        options.threads = try target.tidList()
        options.delay = try scope.delaySeconds()
        if options.delay != nil, overwrite {
            throw UsageProblem(text: "-D does not go with --overwrite yet: a flight recording keeps only the newest samples anyway")
        }
        options.cpus = try scope.cpus()
        options.output = output
        try flightOptions(&options)
        options.duration = target.duration
        // A command writes to the same terminal: its output and a redrawn line would mix (see `say`).
        options.progress = Record.sharesTerminal(options.target) ? progress && !quiet : !quiet
        if progress && quiet { throw UsageProblem(text: "--progress and -q contradict each other; give one") }
        options.commandLine = ["ember"] + CommandLine.arguments.dropFirst()
        return options
    }
}

extension Record {
    /// Runs a recording and prints its notes and its one summary line (scripts and the benchmarks read it).
    /// `command` names the line (`latency`, whose samples are the events it measures).
    static func record(_ options: RecordOptions, as command: String = "record") throws -> RecordSummary {
        var options = options
        let inTitle = Record.sharesTerminal(options.target)
        options.messages = Record.say(progressInTitle: inTitle)
        // The title the progress borrows is given back at its end (xterm's title stack; others ignore it).
        if inTitle, options.progress, isatty(2) == 1 { fputs("\u{1b}[22;2t", stderr) }
        let summary: RecordSummary
        do {
            summary = try Recorder(options: options).run()
        } catch {
            let e = RecordError(wrapping: error)
            throw Diagnostics.fail(e.description, status: e.exitStatus)
        }
        for note in summary.notes { Diagnostics.note(note) }
        if options.overwrite {
            let count = summary.snapshots.count == 1 ? "1 snapshot" : "\(summary.snapshots.count) snapshots"
            Diagnostics.note("record: \(count) kept in \(formatSeconds(summary.seconds)) s\(summary.snapshots.last.map { "; the newest is \($0)" } ?? "")")
            return summary
        }
        let dropped = summary.dropped > 0 ? ", \(summary.dropped) dropped (not written)" : ""
        let old = summary.replacedOld ? " (the previous \(options.output) replaced \(options.output).old)" : ""
        let unit = command == "record" ? "sample" : "event"
        let samples = summary.samples == 1 ? "1 \(unit)" : "\(summary.samples) \(unit)s"
        // The file's size, and in MB as perf gives it (hundredths, 0.01 at least).
        let megabytes = " (\(formatSeconds(max(Double(summary.bytes) / 1e6, 0.01))) MB)"
        let files = summary.snapshots.count
        let destination = options.switchOutput == nil ? outputName(options.output)
            : "\(files == 1 ? "1 file" : "\(files) files") kept, the last \(summary.snapshots.last ?? options.output),"
        Diagnostics.note("\(command): \(samples), \(summary.lost) lost\(dropped), wrote \(summary.bytes) bytes\(megabytes) to \(destination) in \(formatSeconds(summary.seconds)) s\(old)")

        if summary.lost > 0 {
            Diagnostics.warning("\(summary.lost) events were lost because a ring buffer was full; use a larger -m or a lower -F")
        }
        if summary.throttled > 0 {
            Diagnostics.warning("the kernel throttled sampling \(summary.throttled) times (kernel.perf_event_max_sample_rate); samples are missing for those periods")
        }
        return summary
    }

    /// Whether the recording runs a command, which writes to the terminal Ember draws on.
    static func sharesTerminal(_ target: RecordOptions.Target) -> Bool {
        switch target {
        case .command: return true
        case .allCPUs(let command): return command != nil
        case .processes: return false
        }
    }

    /// Prints what a recording says while it runs; progress only on a terminal. A line redrawn there would mix with
    /// a command's output on the same terminal (overwriting a partial line of its own, or landing in the middle of
    /// one), so with `progressInTitle` progress goes to the window's title instead, which no text reaches.
    static func say(progressInTitle: Bool) -> @Sendable (RecordMessage) -> Void {
        { message in
            switch message {
            case .warning(let text): Diagnostics.warning(text)
            case .note(let text): Diagnostics.note(text)
            case .progress(let seconds, let samples, let lost):
                guard isatty(2) == 1 else { return }
                let text = "[ ember record: \(seconds) s, \(samples) samples, \(lost) lost ]"
                fputs(progressInTitle ? "\u{1b}]2;\(text)\u{07}" : "\r" + text, stderr)
            case .progressEnd:
                guard isatty(2) == 1 else { return }
                fputs(progressInTitle ? "\u{1b}[23;2t" : "\r\u{1b}[K", stderr)
            }
        }
    }

    /// The kernel's cap on one ring's data pages that Ember accepts (4 GiB per CPU).
    static let maxPages = 1 << 20

    /// The smallest power-of-two ring that holds two DWARF samples (registers, the stack copy and the rest of
    /// the sample): smaller rings lose every sample, or all but a few.
    static func minimumPages(stackBytes: UInt32) -> Int {
        let sample = Int(stackBytes) + 8 * EventResolver.userRegisters.nonzeroBitCount + 512
        var pages = 1
        while pages * RingBuffer.pageSize < 2 * sample { pages *= 2 }
        return pages
    }

    /// `--call-graph fp,repair`: the kernel's frame-pointer chain with the registers and stack copy that put back the
    /// callers of functions without a frame pointer (what `-g` and `fp` record into a file); `fp,norepair`: the
    /// kernel's chain alone.
    static let repair = "fp,repair"
    static let noRepair = "fp,norepair"

    /// Whether a frame-pointer recording also copies what repairs its leaves: by default into a file, where the
    /// copies are kept beside the samples (perf reads plain frame-pointer samples); into a pipe or a flight
    /// recorder's rings (whose snapshots keep samples whole, and would hold a sixth as many) only when asked
    /// (`fp,repair`: perf then takes the copies for a DWARF call graph).
    static func repairsLeaves(_ text: String?, _ mode: RecordOptions.CallGraph, output: String, flight: Bool = false) -> Bool {
        guard mode == .framePointer else { return false }
        return text == Record.repair || (text != Record.noRepair && output != "-" && !flight)
    }

    /// `fp`, `fp,repair`, `fp,norepair`, `dwarf` or `dwarf,SIZE` (SIZE a multiple of 8, at most the kernel's 65528).
    static func callGraphMode(_ text: String?, framePointer: Bool) throws -> RecordOptions.CallGraph {
        guard let text else { return framePointer ? .framePointer : .none }
        if text == "fp" || text == Record.repair || text == Record.noRepair { return .framePointer }
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.first == "dwarf", parts.count <= 2 else {
            throw UsageProblem(text: "call-graph mode '\(text)' is not supported; use --call-graph fp (or -g), fp,norepair or dwarf[,SIZE]")
        }
        guard parts.count == 2 else { return .dwarf(stackBytes: RecordOptions.CallGraph.defaultStackBytes) }
        let max = RecordOptions.CallGraph.maxStackBytes
        guard let size = UInt32(parts[1]), size > 0, size % 8 == 0, size <= max else {
            throw UsageProblem(text: "--call-graph dwarf,\(parts[1]): the stack size must be a multiple of 8 from 8 to \(max) bytes (the kernel's limit); perf's default is 8192")
        }
        return .dwarf(stackBytes: size)
    }
}


