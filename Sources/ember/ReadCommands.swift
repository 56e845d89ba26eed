import ArgumentParser
import EmberHeap
import EmberLatency
import EmberLibunwind
import EmberPerfData
import EmberRender
import EmberReplay
import EmberStacks
import EmberSymbols
import EmberUnwind
#if canImport(Glibc)
import Glibc
#endif

/// How the reading commands name frames.
struct SymbolFlags: ParsableArguments {
    @Flag(name: .customLong("no-inline"), help: "Do not show inlined functions as frames of their own.")
    var noInline = false

    @Flag(help: "Show the source file and line of each frame.")
    var srcline = false

    @Flag(name: .customLong("no-demangle"), help: "Show symbol names as the binary has them.")
    var noDemangle = false

    @Option(help: "Demangling: short (Swift: swift demangle --simplified's text, with its 'specialized' and 'partial apply for' prefixes moved to [specialized] and [partial apply] suffixes; C++ without return types; Rust without the hash) or full (as swift demangle and c++filt print them).")
    var demangle: DemangleStyle = .short

    @Option(help: "Read binaries and debug files under this directory (a sysroot).")
    var symfs: String?

    @Flag(name: .customLong("symbol-versions"), help: "Keep symbol versions in names (memcpy@@GLIBC_2.14).")
    var symbolVersions = false

    @Flag(name: .customLong("perf-compat"), help: "Name and fold frames exactly as 'perf script | stackcollapse-perf.pl' does, to diff with it.")
    var perfCompat = false

    @Option(help: "The unwinder of --call-graph dwarf stacks: ember or libunwind (perf's).")
    var unwinder: UnwinderKind = .ember

    @Flag(name: .customLong("no-async-stacks"), help: "Show Swift async code's physical stacks (the executor's frames) instead of its awaiting callers (marked 'async' in script).")
    var noAsyncStacks = false

    @Flag(name: .customLong("no-stack-tail"), help: "End DWARF stacks at the sample's stack copy, without the frames found in the rest of the thread's stack that the recording read (marked 'stack tail' in script).")
    var noStackTail = false

    var options: SymbolOptions {
        var o = SymbolOptions()
        o.inline = !noInline && !perfCompat
        o.sourceLines = srcline
        o.demangle = noDemangle ? .none : demangle
        o.symfs = symfs
        o.symbolVersions = symbolVersions
        o.perfCompatible = perfCompat
        o.stackTails = !noStackTail && !perfCompat
        o.asyncStacks = !noAsyncStacks && !perfCompat
        return o
    }
}

extension DemangleStyle: ExpressibleByArgument {}
/// `--unwinder`: which unwinder walks `--call-graph dwarf` stacks.
enum UnwinderKind: String, CaseIterable, ExpressibleByArgument {
    /// Ember's own: libdw's CFI with Ember's stepping, each PC's rule cached.
    case ember
    /// libunwind's remote unwinder, as perf uses it.
    case libunwind

    var factory: UnwinderFactory { self == .ember ? .ember : .libunwind }
}

/// Opens a recording for a reading command, turning failures into one-line errors.
func openReplay(_ path: String, symbols: SymbolFlags) throws -> Replay {
    try openReplay(path, options: symbols.options, unwinder: symbols.unwinder)
}

func openReplay(_ path: String, options: SymbolOptions, unwinder: UnwinderKind = .ember) throws -> Replay {
    try openRecording(path, options: options, unwinder: unwinder).replay
}

/// The recording at `path` and its replay, for a command that also reads the file's header or sections.
func openRecording(_ path: String, options: SymbolOptions, unwinder: UnwinderKind = .ember, archiving: Bool = false) throws
    -> (file: PerfDataFile, replay: Replay) {
    do {
        let file = try PerfDataFile(path: path)
        file.progress = ProgressBar(label: path == "-" ? "standard input" : path)?.update
        return (file, try Replay(file: file, symbols: options, unwinder: unwinder.factory, archiving: archiving))
    } catch let e as PerfDataError {
        switch e {
        case .cannotOpen:
            throw Diagnostics.fail("\(e) (record one with 'ember record', or name it with -i)")
        default:
            throw Diagnostics.fail("\(path): \(e)")
        }
    }
}

/// Flushes standard output; a failed write (a full disk, a closed pipe) is an error, not a silent short file.
func finishOutput(_ out: TextOutput) throws {
    out.flush()
    if let error = out.error { throw Diagnostics.fail("writing the output failed: \(error)") }
}

/// Prints each warning of a finished replay once.
func report(_ replay: Replay) {
    replay.symbolizer.saveCaches()
    for w in replay.warnings { Diagnostics.warning(w) }
}

struct Script: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "script",
        abstract: "Print every sample with its call chain, as perf script does.",
        discussion: "Example: ember script -i perf.data | less"
    )

    @OptionGroup var input: InputOptions
    @OptionGroup var symbols: SymbolFlags
    @OptionGroup var filters: SampleFilterFlags

    @Option(name: [.customShort("F"), .customLong("fields")], parsing: .unconditional, help: ArgumentHelp("The fields to print, as perf script names them: comm,pid,tid,cpu,time,period,event,trace,ip,sym,symoff,dso,srcline; or +FIELD,-FIELD to change the default ones.", valueName: "fields"))
    var fieldList: String?

    @Flag(name: [.customShort("G"), .customLong("hide-call-graph")], help: "Only the sampled frame, on the sample's line.")
    var hideCallGraph = false

    @Flag(help: "Times to the nanosecond.")
    var ns = false

    @Flag(help: "Times since the first sample.")
    var reltime = false

    @Flag(help: "Times since the sample before.")
    var deltatime = false

    @Flag(help: "Instead of the samples, a sparkline a process of when it was sampled, to choose a --time slice.")
    var summary = false

    @Flag(help: "Print what the recording's header says (host, kernel, CPUs, command line, events) first.")
    var header = false

    @Flag(name: .customLong("header-only"), help: "Print only what the recording's header says.")
    var headerOnly = false

    func run() throws {
        var writer = ScriptWriter()
        if let fieldList {
            guard let fields = ScriptFields.parse(fieldList) else {
                throw Diagnostics.fail("-F takes fields from \(ScriptFields.names.map(\.0).joined(separator: ",")), all named or all +/-, not '\(fieldList)'")
            }
            writer.fields = fields
            writer.periodOnTraceEvents = fieldList.split(separator: ",").contains { $0 == "period" || $0 == "+period" }
        }
        writer.hideCallGraph = hideCallGraph
        writer.nanoseconds = ns
        if reltime && deltatime { throw Diagnostics.fail("--reltime and --deltatime exclude each other; give one") }
        writer.times = reltime ? .sinceFirst : deltatime ? .sincePrevious : .absolute
        var symbolFlags = symbols
        if writer.fields.contains(.srcline) { symbolFlags.srcline = true }
        let (file, replay) = try openRecording(input.input, options: symbolFlags.options, unwinder: symbolFlags.unwinder)
        try filters.apply(to: replay)
        let out = TextOutput(fd: 1)
        if header || headerOnly { out.write(HeaderWriter.render(file)) }
        if summary {
            out.write(TimelineWriter().render(replay))
        } else if !headerOnly {
            writer.write(replay, to: out)
        }
        try finishOutput(out)
        report(replay)
    }
}

/// Options that choose and weigh the stacks to fold.
struct FoldOptions: ParsableArguments {
    @Flag(help: "Weigh stacks by sample count instead of sample period.")
    var count = false

    @Flag(help: "Split the root by process: comm-PID, as stackcollapse-perf.pl's --pid (to keep only some processes: --pids).")
    var pid = false

    @Flag(help: "Split the root by thread: comm-PID/TID, as stackcollapse-perf.pl's --tid (to keep only some threads: --tids).")
    var tid = false

    @Option(help: "The event to fold in a recording with several (default: the first).")
    var event: String?

    @OptionGroup var wallClock: WallClockFlags

    @Flag(name: .customLong("offcpu"), help: ArgumentHelp("The same as --off-cpu-only.", visibility: .hidden))
    var offcpuSpelling = false

    /// Off-CPU stacks alone (`--off-cpu-only`, or `--offcpu` as latency's kind is spelt).
    var offcpu: Bool { wallClock.offCPUOnly || offcpuSpelling }
    var onCPUOnly: Bool { wallClock.onCPUOnly }

    /// Both halves of a wall-clock recording fold together (under a last frame `[off-cpu]`): nothing chose one.
    func foldsBothHalves(_ replay: Replay) -> Bool { !offcpuSpelling && wallClock.foldsBothHalves(replay, event: event) }

    @Option(help: "With --off-cpu-only, leave out waits shorter than this (such as 50us, 2ms).")
    var min: String?

    @Flag(help: "With --off-cpu-only, put above each blocked stack '--', the stack that woke it and the waker's name (as offwaketime).")
    var wakers = false

    @Flag(name: .customLong("full-names"), help: "Keep C++ parameter lists in frame names (stackcollapse drops them).")
    var fullNames = false

    @Option(help: ArgumentHelp("Of a heap recording (record --heap, which reads as alloc by default): alloc (bytes allocated), inuse (bytes still allocated when the recording ended) leaks (still allocated when their process exited or exec'd) or peak (allocated when each process's heap was largest, as massif's peak snapshot); with --count, allocations instead of bytes.", valueName: "alloc|inuse|leaks|peak"))
    var heap: HeapMode?

    /// What a heap recording is weighed by: `--heap`, or bytes allocated when nothing chose another event.
    func heapMode(_ replay: Replay) -> HeapMode? { FoldOptions.heapMode(heap, event: event, replay) }

    /// `--heap` (`chosen`), or `otherwise` for a heap recording read without an event chosen; nil: not a heap reading.
    static func heapMode(_ chosen: HeapMode?, event: String?, _ replay: Replay, otherwise: HeapMode = .alloc) -> HeapMode? {
        chosen ?? (event == nil && HeapEvents.isHeapRecording(replay.events.map(\.name)) ? otherwise : nil)
    }

    func fold(_ replay: Replay) throws -> FoldedProfile {
        try folding(replay) { try $0.collapse(replay) }
    }

    /// Each sample's stack, time and thread, for the FlameScope view and the flame chart.
    func timed(_ replay: Replay) throws -> TimedStacks {
        try folding(replay) { try $0.timed(replay) }
    }

    /// Runs one of the collapser's foldings, its failure a one-line error.
    private func folding<T>(_ replay: Replay, _ body: (Collapser) throws -> T) throws -> T {
        let collapser = try collapser(replay)
        do {
            return try body(collapser)
        } catch let e as CollapseError {
            throw Diagnostics.fail(e.description)
        }
    }

    private func collapser(_ replay: Replay) throws -> Collapser {
        replay.frames.fullNames = fullNames
        var collapser = Collapser()
        collapser.countSamples = count
        collapser.root = tid ? .tid : (pid ? .pid : .comm)
        collapser.eventName = event
        if onCPUOnly, offcpu { throw Diagnostics.fail(WallClockFlags.bothHalves) }
        if let mode = heapMode(replay) {
            if offcpu || onCPUOnly || min != nil || wakers || event != nil {
                throw Diagnostics.fail("--heap weighs allocations by their stacks; drop --event, --off-cpu-only, --on-cpu-only, --min and --wakers")
            }
            let heap = try FoldOptions.heapProfile(replay, mode: mode)
            collapser.eventName = heap.allocEventName
            collapser.weight = heap.weight(mode, objects: count)
            return collapser
        }
        if offcpu {
            let offCPU = try FoldOptions.offCPUTime(replay, minimumNs: try min.map(Latency.nanoseconds) ?? 0)
            collapser.eventName = OffCPUTime.eventName
            collapser.weight = offCPU.weight
            if wakers {
                guard replay.eventIndex(named: offCPU.wakerEventName) != nil else {
                    throw Diagnostics.fail("the recording has no wakeups to take wakers from; record them with 'ember latency --offcpu --wakers -- CMD'")
                }
                collapser.wakers = offCPU.wakers
                collapser.wakeupEventName = offCPU.wakerEventName
            }
        } else if min != nil || wakers {
            throw Diagnostics.fail("\(min != nil ? "--min" : "--wakers") goes with --off-cpu-only")
        } else if foldsBothHalves(replay) {
            collapser.offCPU = try FoldOptions.offCPUTime(replay, minimumNs: 0).stacks
        }
        return collapser
    }
}

extension FoldOptions {
    /// The off-CPU waits of a latency recording by the switch that started each: a first pass of its own over the
    /// recording `replay` reads (already in memory, so standard input too).
    /// In a wall-clock recording, waits for a CPU after preemption are off-CPU time too, so that a thread's two
    /// halves add up to its lifetime.
    static func offCPUTime(_ replay: Replay, minimumNs: UInt64) throws -> OffCPUTime {
        guard let file = replay.file else { throw Diagnostics.fail("--offcpu reads a recording, not a live one") }
        do {
            return try OffCPUTime(try Replay(file: file), minimumNs: minimumNs, preemption: OffCPUTime.isWallClock(replay.events))
        } catch let e as LatencyError {
            throw Diagnostics.fail("\(file.path): \(e)")
        }
    }
}

extension HeapMode: ExpressibleByArgument {}

extension FoldOptions {
    /// The sampled allocations of a heap recording with their frees: a first pass of its own over the recording.
    /// Says what the profile cannot show: allocations whose frees could not be told, leaks without an exit.
    static func heapProfile(_ replay: Replay, mode: HeapMode) throws -> HeapProfile {
        guard let file = replay.file else { throw Diagnostics.fail("--heap reads a recording, not a live one") }
        let heap: HeapProfile
        do {
            heap = try HeapProfile(try Replay(file: file, symbols: replay.symbolizer.options))
        } catch let e as HeapError {
            throw Diagnostics.fail("\(file.path): \(e)")
        }
        HeapProfile.hideAllocatorFrames(in: replay)
        if heap.allocations.isEmpty {
            Diagnostics.note("no allocations were sampled: was the command dynamically linked, allocating through libc's malloc (not a static binary, a setuid program or its own allocator), and did it allocate --heap-rate bytes?")
        }
        if heap.untracked > 0, mode != .alloc {
            Diagnostics.warning("\(heap.untracked) sampled allocations are counted as allocated only: the shim's table of live samples was full when they were made, so their frees could not be told")
        }
        if mode == .leaks, heap.exitedProcesses == 0, !heap.allocations.values.contains(where: \.leaked) {
            Diagnostics.note("no process exited during the recording, so none leaked yet: --heap inuse shows what was still allocated at its end")
        }
        return heap
    }
}

struct Collapse: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collapse",
        abstract: "Fold stacks into 'comm;outer;...;leaf weight' lines, as stackcollapse-perf.pl does.",
        discussion: "Example: ember collapse -i perf.data > out.folded"
    )

    @OptionGroup var input: InputOptions
    @OptionGroup var fold: FoldOptions
    @OptionGroup var symbols: SymbolFlags
    @OptionGroup var filters: SampleFilterFlags

    func run() throws {
        let replay = try openReplay(input.input, symbols: symbols)
        try filters.apply(to: replay)
        let profile = try fold.fold(replay)
        let out = TextOutput(fd: 1)
        for (stack, weight) in profile.sortedStacks {
            out.write(stack)
            out.byte(0x20)
            out.decimal(weight)
            out.byte(0x0a)
        }
        try finishOutput(out)
        report(replay)
    }
}
