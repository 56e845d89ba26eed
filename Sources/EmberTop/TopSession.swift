import CEmberShim
import EmberAnnotate
import EmberKernel
import EmberPerfData
import EmberRecord
import EmberReplay
import EmberStacks
import EmberSymbols
import Foundation
import Synchronization

/// What `ember top` asks of its recording.
public struct TopOptions: Sendable {
    public var record: RecordOptions
    public var keys: [ReportKey] = [.dso, .symbol]
    public var callGraphs = false
    public var zeroes = false
    /// Seconds between refreshes.
    public var delay = 1.0
    public var symbols = SymbolOptions()
    /// Only samples of these commands (`--comm`).
    public var comms: Set<String>?

    public init(record: RecordOptions) {
        self.record = record
    }
}

/// One refresh's view of the recording, handed from the recording's thread to the screen's.
public struct TopSnapshot: Sendable {
    public var entries: [TopModel.Entry]
    public var totalWeight: UInt64
    public var samplesPerSecond: Double
    /// The share of the last refresh's samples taken in the kernel (0 to 100).
    public var kernelPercent: Double
    public var lost: UInt64
    public var eventName: String
}

/// A function's annotation, as lines, with the hottest selected; or why there is none.
public struct TopAnnotation: Sendable {
    public enum Outcome: Sendable {
        case lines([String], hottest: Int)
        case failed(String)
    }

    /// The function asked about (`TopModel.Entry.function`): an answer to an earlier request is not shown.
    public var function: UInt64
    public var outcome: Outcome
}

/// A live recording read on its own thread: every quarter second the new records go through a `Replay` into a
/// `TopModel`, and every `delay` seconds a snapshot is published and the counts decay. The screen's thread takes
/// snapshots and asks for annotations (built on the recording's thread, which owns the replay and its symbols);
/// `wakeFD` becomes readable whenever there is something new for it.
public final class TopSession: @unchecked Sendable {
    private struct Shared {
        var snapshot: TopSnapshot?
        var annotationAsked: (function: UInt64, syntax: AssemblySyntax)?
        var annotation: TopAnnotation?
        var zeroes: Bool
        var ended: Result<RecordSummary, RecordError>?
    }

    public let options: TopOptions
    /// An eventfd: readable when a snapshot, an annotation or the end is there to take.
    public let wakeFD: Int32
    private let control: FlightControl
    private let shared: Mutex<Shared>
    private var thread: Thread?

    public init(options: TopOptions) throws {
        self.options = options
        control = try FlightControl()
        wakeFD = ember_eventfd()
        guard wakeFD >= 0 else { throw RecordError.system("eventfd", Errno.current) }
        shared = Mutex(Shared(zeroes: options.zeroes))
    }

    deinit { close(wakeFD) }

    /// Starts the recording on a thread of its own.
    public func start() {
        var record = options.record
        record.control = control
        record.ownsSignals = false
        record.progress = false
        let thread = Thread { [self, record] in
            let result: Result<RecordSummary, RecordError>
            do {
                result = .success(try Recorder(options: record).stream(every: 0.25, self.reading()))
            } catch {
                result = .failure(RecordError(wrapping: error))
            }
            shared.withLock { $0.ended = result }
            signal()
        }
        thread.stackSize = 8 << 20
        self.thread = thread
        thread.start()
    }

    /// Asks the recording to stop; `ended` says when it has.
    public func stop() { control.stop() }

    public var ended: Result<RecordSummary, RecordError>? { shared.withLock { $0.ended } }

    /// The newest snapshot, taken (nil when none came since the last take).
    public func takeSnapshot() -> TopSnapshot? {
        shared.withLock { state in
            defer { state.snapshot = nil }
            return state.snapshot
        }
    }

    public func takeAnnotation() -> TopAnnotation? {
        shared.withLock { state in
            defer { state.annotation = nil }
            return state.annotation
        }
    }

    public func annotate(function: UInt64, syntax: AssemblySyntax) {
        shared.withLock { $0.annotationAsked = (function, syntax) }
    }

    public var zeroes: Bool {
        get { shared.withLock { $0.zeroes } }
        set { shared.withLock { $0.zeroes = newValue } }
    }

    /// Clears the eventfd's count; call after each wake-up.
    public func acknowledge() {
        var count: UInt64 = 0
        _ = read(wakeFD, &count, 8)
    }

    private func signal() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    /// The recording thread's reader: state that lives as long as the recording.
    private func reading() -> (LiveRecords) -> Void {
        var live: Replay?
        var model = TopModel(keys: options.keys, callGraphs: options.callGraphs)
        var published = monotonicSeconds()
        let delay = options.delay, symbols = options.symbols, comms = options.comms
        return { [self] records in
            let r = live ?? Replay(live: records, symbols: symbols)
            if live == nil { r.filter.comms = comms }
            live = r
            model.read(r, event: 0)
            let asked = shared.withLock { state -> (function: UInt64, syntax: AssemblySyntax)? in
                defer { state.annotationAsked = nil }
                model.zeroes = state.zeroes
                return state.annotationAsked
            }
            if let asked {
                let annotation = TopSession.annotation(of: asked.function, syntax: asked.syntax, model: model, replay: r)
                shared.withLock { $0.annotation = annotation }
                signal()
            }
            let now = monotonicSeconds()
            guard now - published >= delay else { return }
            let snapshot = TopSnapshot(entries: model.entries, totalWeight: model.totalWeight,
                                       samplesPerSecond: Double(model.recentSamples) / max(now - published, 0.001),
                                       kernelPercent: model.recentSamples == 0 ? 0 : Double(model.recentKernel) * 100 / Double(model.recentSamples),
                                       lost: r.lostRecords, eventName: r.events.first?.name ?? "")
            published = now
            model.decay()
            shared.withLock { $0.snapshot = snapshot }
            signal()
        }
    }

    private static func annotation(of key: UInt64, syntax: AssemblySyntax, model: TopModel, replay: Replay) -> TopAnnotation {
        TopAnnotation(function: key, outcome: outcome(of: key, syntax: syntax, model: model, replay: replay))
    }

    private static func outcome(of key: UInt64, syntax: AssemblySyntax, model: TopModel, replay: Replay) -> TopAnnotation.Outcome {
        guard let function = model.functions.function(key: key) else { return .failed("no samples of this function to annotate yet") }
        do {
            let code = try replay.symbolizer.functionCode(at: function.location, symbol: function.symbol)
            let annotated = try AnnotatedFunction(function, code: code, replay: replay, syntax: syntax)
            let writer = AnnotationWriter(layout: annotated.hasSourceLines ? .sourceAndAssembly : .assemblyOnly,
                                          event: replay.events.first?.name ?? "", totalSamples: model.functions.samples,
                                          sources: SourceFiles(root: replay.symbolizer.options.symfs))
            let (lines, hottest) = writer.lines(annotated)
            return .lines(lines, hottest: hottest)
        } catch {
            return .failed("\(error)")
        }
    }
}
