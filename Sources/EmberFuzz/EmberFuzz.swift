import CEmberShim
import EmberExport
import EmberKernel
import EmberLibunwind
import EmberRender
import EmberReplay
import EmberStacks
import EmberSymbols
import EmberUnwind
#if canImport(Glibc)
import Glibc
#endif

/// The fuzz target of Ember's readers: a recording (perf.data, a pipe stream, compressed records) is read,
/// printed as `ember script` does and folded; anything else is parsed as folded stacks and drawn as a flame graph.
/// A bad input may be refused, never crash, hang or grow without bound.
///
/// Built normally it replays the files it is given (the committed regression inputs); `make fuzz` builds it with
/// libFuzzer and AddressSanitizer (`-DFUZZING`) and mutates seeds recorded by Ember and perf.
enum FuzzTarget {
    private static let scratch = "/dev/shm/ember-fuzz-\(getpid()).data"
    private static let devNull = open("/dev/null", O_WRONLY | O_CLOEXEC)

    /// The readers are the target, not the binaries of this machine: symbolizing against an empty sysroot keeps
    /// each run to the input's own bytes (and hundreds of runs a second instead of twenty).
    private static let symbols: SymbolOptions = {
        var options = SymbolOptions()
        options.symfs = "/dev/shm/ember-fuzz-empty-sysroot"
        options.inline = false
        return options
    }()

    static func run(_ bytes: UnsafeRawBufferPointer) {
        // Recordings and archives (which hold one) are read through a file, as the readers read them.
        if bytes.count >= 8, bytes.prefix(8).elementsEqual("PERFILE2".utf8) || bytes.prefix(8).elementsEqual("EMBERARC".utf8) {
            let fd = open(scratch, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { return }
            _ = write(fd, bytes.baseAddress, bytes.count)
            close(fd)
            defer { unlink(scratch) }
            if let replay = try? Replay(path: scratch, symbols: symbols) { _ = ScriptWriter().write(replay, to: TextOutput(fd: devNull)) }
            // The exports walk every sample and marker their own way.
            if let replay = try? Replay(path: scratch, symbols: symbols) { _ = try? FirefoxExporter().export(replay, name: "fuzz") }
            if let replay = try? Replay(path: scratch, symbols: symbols) { _ = try? SpeedscopeExporter().export(replay, name: "fuzz") }
            // The collapse pass unwinds DWARF stacks with libunwind, the script pass with Ember's unwinder.
            if let replay = try? Replay(path: scratch, symbols: symbols, unwinder: .libunwind) { _ = try? Collapser().collapse(replay) }
        } else if let profile = try? FoldedProfile.parse(Substring(decoding: bytes, as: UTF8.self)) {
            _ = FlameGraph.render(profile, options: FlameGraphOptions())
            // Read as both sides of a comparison, and as a chart.
            _ = FlameGraph.render(FoldedProfile.differential(before: profile, after: profile.reversed, normalize: true), options: FlameGraphOptions())
            _ = FlameGraph.render(chart: TimeOrderedStacks(stacks: profile.sortedStacks), options: FlameGraphOptions())
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
            bytes.withUnsafeBytes { FuzzTarget.run($0) }
        }
    }
}
#endif
