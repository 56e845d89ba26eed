import EmberKernel
import EmberPprof
import EmberRecord
import EmberRender
import EmberReplay
import EmberStacks
import Foundation

/// Profile this process from inside it, with the recorder, rings and symbolizer `ember record` uses:
///
///     let profile = try await EmberProfiler.record(seconds: 10, frequency: 99, callGraph: .dwarf)
///     let svg = try profile.flameGraphSVG(title: "checkout")
///
/// Recording needs what `ember record -p` needs: root, or `kernel.perf_event_paranoid` low enough; an error says
/// which to change.
public enum EmberProfiler {
    /// How stacks are taken: through frame pointers (cheap; code built without them shows short stacks), or by
    /// copying each sample's user stack and unwinding it through CFI when read (any code, more bytes).
    public enum CallGraph: Sendable {
        case framePointer
        case dwarf
    }

    /// Samples every thread of this process for `seconds`, on a thread of its own (the caller's task waits, the
    /// process runs on), and returns the recording.
    public static func record(seconds: Double, frequency: Int = 99, callGraph: CallGraph = .framePointer) async throws -> Profile {
        guard seconds > 0, seconds.isFinite else { throw EmberProfilerError.badArgument("seconds must be more than 0 (got \(seconds))") }
        guard frequency > 0 else { throw EmberProfilerError.badArgument("frequency must be at least 1 sample a second (got \(frequency))") }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ember-profile-\(getpid())-\(UUID().uuidString).data").path
        var options = RecordOptions(target: .processes([getpid()]))
        options.sampling = .frequency(UInt64(frequency))
        options.samplingIsDefault = false
        options.callGraph = callGraph == .dwarf ? .dwarf(stackBytes: RecordOptions.CallGraph.defaultStackBytes) : .framePointer
        // Into a file, as `ember record -g`: leaves repaired, and Swift async chains taken (as root).
        options.repairsLeaves = callGraph == .framePointer
        options.duration = seconds
        options.output = path
        options.progress = false
        // The program's signals stay its own.
        options.ownsSignals = false
        options.commandLine = ["EmberProfiler.record", "seconds=\(seconds)", "frequency=\(frequency)"]
        let recording = options
        return try await withCheckedThrowingContinuation { continuation in
            let drain = Thread {
                do {
                    _ = try Recorder(options: recording).run()
                    continuation.resume(returning: Profile(path: path))
                } catch {
                    unlink(path)
                    continuation.resume(throwing: EmberProfilerError(RecordError(wrapping: error)))
                }
            }
            drain.name = "EmberProfiler drain"
            drain.start()
        }
    }
}

/// A recording of this process (a perf.data file, removed with the profile), and what Ember makes of it.
public final class Profile: @unchecked Sendable {
    private let path: String

    init(path: String) { self.path = path }

    deinit { unlink(path) }

    /// Folded stacks (`comm;outer;...;leaf weight` lines), as `ember collapse` prints them.
    public func folded() throws -> String {
        try Collapser().collapse(replay()).text
    }

    /// A gzip-compressed pprof profile, as `ember pprof` writes it.
    public func pprof() throws -> Data {
        Data(try PprofBuilder.gzipped(try PprofBuilder().build(replay())))
    }

    /// An interactive flame graph, as `ember flamegraph` draws it.
    public func flameGraphSVG(title: String = "Flame Graph") throws -> String {
        var options = FlameGraphOptions()
        options.title = title
        options.countName = "ns"
        return FlameGraph.render(try Collapser().collapse(replay()), options: options)
    }

    /// The recording itself, for `ember` or `perf` to read.
    public func write(perfData destination: String) throws {
        guard let bytes = readSmallFileBytes(path, limit: Int.max) else { throw EmberProfilerError.cannotRead("\(path): \(Errno.current)") }
        do {
            try OutputFile.replace(destination, with: bytes)
        } catch {
            throw EmberProfilerError.cannotWrite("\(error)")
        }
    }

    private func replay() throws -> Replay {
        do {
            return try Replay(path: path)
        } catch {
            throw EmberProfilerError.cannotRead("\(error)")
        }
    }
}

/// Why profiling failed, each with what to change.
public enum EmberProfilerError: Error, CustomStringConvertible, Equatable {
    /// The kernel refused the events: run as root, or lower `kernel.perf_event_paranoid`.
    case notPermitted(String)
    /// Recording failed otherwise (the message says why).
    case cannotRecord(String)
    case cannotRead(String)
    case cannotWrite(String)
    case badArgument(String)

    init(_ error: RecordError) {
        switch error {
        case .permission: self = .notPermitted(error.description)
        default: self = .cannotRecord(error.description)
        }
    }

    public var description: String {
        switch self {
        case .notPermitted(let m), .cannotRecord(let m), .cannotRead(let m), .cannotWrite(let m), .badArgument(let m): return m
        }
    }
}
