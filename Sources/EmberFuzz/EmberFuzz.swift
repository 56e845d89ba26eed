import CEmberShim
import EmberAnnotate
import EmberExport
import EmberHeap
import EmberKernel
import EmberLatency
import EmberLibunwind
import EmberOTLP
import EmberPerfData
import EmberPprof
import EmberRender
import EmberReplay
import EmberStacks
import EmberSymbols
import EmberUnwind
#if canImport(Glibc)
import Glibc
#endif

/// The fuzz target of Ember's readers: a recording (perf.data, a pipe stream, compressed records, an archive) is
/// parsed once from memory and handed to one consumer, chosen by the input's last byte — script, collapse with
/// either unwinder, the exports, pprof, the latency analysis — so that every run does one reader's work; anything
/// else is parsed as folded stacks and drawn. A bad input may be refused, never crash, hang or grow without bound.
///
/// Built normally it replays the files it is given (the committed regression inputs); `make fuzz` builds it with
/// libFuzzer and AddressSanitizer (`-DFUZZING`) and mutates seeds recorded by Ember and perf.
enum FuzzTarget {
    private static let devNull = open("/dev/null", O_WRONLY | O_CLOEXEC)

    /// The readers are the target, not this machine: binaries from an empty sysroot and a small fixed kernel symbol
    /// table keep each run to the input's own bytes (and thousands of runs a second instead of four), the same on
    /// every host.
    private static let symbols: SymbolOptions = {
        var options = SymbolOptions()
        options.symfs = "/dev/shm/ember-fuzz-empty-sysroot"
        options.inline = false
        options.kernelSymbols = KernelSymbols(kallsyms: Array("""
            ffffffff81000000 T _stext
            ffffffff81001000 T do_syscall_64
            ffffffff81002000 T entry_SYSCALL_64_after_hwframe
            ffffffff81003000 T __schedule
            ffffffff81004000 T schedule
            ffffffff81005000 T try_to_wake_up
            ffffffff81006000 T _etext
            """.utf8))
        return options
    }()

    /// The consumers of a recording, one per run.
    private static let consumers: [(Replay) throws -> Void] = [
        { _ = ScriptWriter().write($0, to: TextOutput(fd: devNull)) },
        { replay in
            // Folded, and laid out in time as the flame chart and FlameScope draw it.
            _ = try Collapser().collapse(replay)
            let timed = try Collapser().timed(replay)
            _ = FlameChart.render(timed, clock: true, options: FlameGraphOptions())
            _ = ScopeWriter(title: "fuzz", subtitle: "fuzz").render(timed)
        },
        { _ = try FirefoxExporter().export($0, name: "fuzz") },
        { _ = try SpeedscopeExporter().export($0, name: "fuzz") },
        { _ = try PprofBuilder().build($0) },
        { _ = try OTLPBuilder().build($0).serializedData() },
        { replay in
            // The kinds the recording has events of, as `latency -i` reads them (one it lacks is refused before reading).
            let kinds = LatencyAnalysis.kinds(recordedIn: replay.events)
            var analysis = LatencyAnalysis(kinds: kinds.isEmpty ? [.offcpu] : kinds)
            analysis.collectsBlocks = true
            analysis.heatmap = LatencyHeatmap(kind: .offcpu)
            try analysis.read(replay)
            for rows in analysis.threads.values {
                for stats in rows.values { _ = (stats.log2Buckets, stats.percentile(99)) }
            }
            _ = analysis.heatmap?.svg(title: "fuzz", command: "ember latency")
        },
        { replay in
            // A heap recording's allocations paired with their frees, folded in use and written as a Go heap profile.
            let heap = try HeapProfile(replay)
            HeapProfile.hideAllocatorFrames(in: replay)
            var collapser = Collapser()
            collapser.eventName = heap.allocEventName
            collapser.weight = heap.weight(.inuse)
            _ = try collapser.collapse(replay)
            _ = try heap.pprofBuilder(.leaks).build(replay)
        },
        { replay in
            // annotate: an archive's code, lines and targets (a recording's binaries are not in the empty sysroot).
            let sampled = FunctionSamples(replay, event: nil)
            for function in sampled.functions.prefix(4) where !function.isKernel {
                guard let code = try? replay.symbolizer.functionCode(at: function.location, symbol: function.symbol),
                      let annotated = try? AnnotatedFunction(function, code: code, replay: replay, syntax: .att) else { continue }
                _ = AnnotationWriter(layout: .sourceAndAssembly, event: "fuzz", totalSamples: sampled.samples, sources: SourceFiles(root: "/nonexistent")).lines(annotated)
            }
        },
    ]

    /// Runs one consumer chosen by the input (`every`: each of them in turn, as a regression input is replayed).
    static func run(_ bytes: UnsafeRawBufferPointer, every: Bool = false) {
        guard let selector = bytes.last else { return }
        if PerfDataFile.startsLikeRecording(bytes) {
            guard let file = try? PerfDataFile(bytes: Array(bytes), name: "fuzz input") else { return }
            // One more choice than consumers: the collapse again, with libunwind walking the DWARF stacks.
            let chosen = every ? Array(0...consumers.count) : [Int(selector) % (consumers.count + 1)]
            for consumer in chosen {
                let unwinder: UnwinderFactory = consumer == consumers.count ? .libunwind : .ember
                guard let replay = try? Replay(file: file, symbols: symbols, unwinder: unwinder) else { return }
                try? consumers[consumer == consumers.count ? 1 : consumer](replay)
            }
        } else if let profile = try? FoldedProfile.parse(Substring(decoding: bytes, as: UTF8.self)) {
            _ = FlameGraph.render(profile, options: FlameGraphOptions())
            // Read as both sides of a comparison, and as a chart.
            _ = FlameGraph.render(FoldedProfile.differential(before: profile, after: profile.reversed, normalize: true), options: FlameGraphOptions())
            let stacks = profile.sortedStacks
            let samples = stacks.indices.map { TimedStacks.Sample(time: UInt64($0 + 1) * 1_000_000, stack: Int32($0), weight: stacks[$0].weight) }
            _ = FlameChart.render(TimedStacks(stacks: stacks.map(\.stack), samples: samples, threads: [.init(pid: 1, tid: 1, name: "fuzz")]),
                                  clock: false, options: FlameGraphOptions())
        }
    }
}

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTarget.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// The `main` SwiftPM links an executable through. libFuzzer brings a `main` of its own that does the same; the
/// fuzz build links with --allow-multiple-definition, and either one runs the driver.
@_cdecl("EmberFuzz_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector) { data, size in fuzzerTestOneInput(data, size) }
}
#else
@main
struct EmberFuzz {
    /// Replays each file named on the command line, printing its name first so that a crash names its input.
    static func main() {
        for path in CommandLine.arguments.dropFirst() {
            fputs("replay \(path)\n", stderr)
            guard let bytes = readSmallFileBytes(path, limit: Int.max) else {
                fputs("cannot read \(path)\n", stderr)
                exit(2)
            }
            bytes.withUnsafeBytes { FuzzTarget.run($0, every: true) }
        }
    }
}
#endif
