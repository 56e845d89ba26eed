import CEmberShim
import EmberHeap
import EmberKernel
import EmberLatency
import EmberOTLP
import EmberPprof
import EmberRecord
import EmberReplay
import EmberStacks
import Foundation

/// One window of a profile (CPU samples, or off-CPU time) as gzip-compressed pprof, or as an OTLP request.
public struct ProfileWindow: Sendable {
    /// The profile as gzip-compressed pprof, or (asked for it) as an OTLP ExportProfilesServiceRequest.
    public var pprof: [UInt8]
    public var otlp: [UInt8] = []
    /// Samples in the profile (after `--comm`'s filter), and events the kernel lost from full rings meanwhile.
    public var samples: UInt64
    public var lost: UInt64
    /// The window's ends, in whole Unix seconds (rounded outward).
    public var from: Int
    public var until: Int
    /// The time (perf clock, ns) of the newest sample the window covers, for the next window to start after.
    public var newest: UInt64 = 0
}

/// Records CPU profiles for the agent and answers them as gzip-compressed pprof.
///
/// On demand (the default), it holds no perf event open between requests: each request records its seconds, and
/// requests that arrive while a recording runs share it rather than opening the events twice. With `continuous`, it
/// keeps one flight recording open (overwrite rings sized for `maxSeconds`, fixed memory) and answers each request
/// at once from the newest seconds the rings hold.
public actor ProfileService {
    public struct Configuration: Sendable {
        /// The target, frequency and call graphs; each recording sets its own duration and output.
        public var template: RecordOptions
        /// Only processes whose main thread has this name (`--comm`); the recording covers every CPU.
        public var processComm: String?
        public var continuous = false
        public var maxSeconds: Double
        /// What an OTLP window's request says of its resources (`agent --otlp`: service name, labels).
        public var otlp: OTLPBuilder?

        public init(template: RecordOptions, processComm: String? = nil, continuous: Bool = false, maxSeconds: Double) {
            self.template = template
            self.processComm = processComm
            self.continuous = continuous
            self.maxSeconds = maxSeconds
        }
    }

    /// The largest ring per CPU a continuous window maps (16 MiB): history beyond it is not kept.
    static let maxWindowPages = 4096

    private let configuration: Configuration
    private let metrics: AgentMetrics
    private var inFlight: Task<ProfileWindow, Error>?
    private var inFlightOffCPU: Task<ProfileWindow, Error>?
    private var window: FlightControl?
    private var windowBytes = 0
    /// The agent's own directory for recordings and snapshots while their profiles are built; `stop()` empties and
    /// removes it, so that an agent stopped mid-request leaves nothing behind (a reading still running then fails to
    /// write its file).
    private let scratch: String

    public init(_ configuration: Configuration, metrics: AgentMetrics) throws {
        self.configuration = configuration
        self.metrics = metrics
        // Each profile is built on a thread of its own (`onThread`): see there.
        ember_malloc_fixed_thresholds()
        let temporary = FileManager.default.temporaryDirectory.path
        ProfileService.collectLeftovers(in: temporary)
        scratch = temporary + "/ember-agent-\(getpid())-\(UUID().uuidString)"
        guard mkdir(scratch, 0o700) == 0 else { throw RecordError.output("cannot make \(scratch): \(Errno.current)") }
    }

    /// With `continuous`, opens the events now and returns once they record, or throws why they cannot (no
    /// permission, say): the note to print at start-up (the window's memory). Without, does nothing.
    public func start() async throws -> String? {
        guard configuration.continuous, window == nil else { return nil }
        let control = try FlightControl()
        var options = configuration.template
        // A window of every CPU, kept to the target when read: its newest sample is then always now (idle CPUs are
        // sampled too), and "the last N seconds" cannot reach back into an idle process's old samples.
        options.target = .allCPUs(command: nil)
        options.overwrite = true
        options.finalSnapshot = false
        options.control = control
        options.progress = false
        options.ownsSignals = false
        options.history = configuration.maxSeconds
        options.mmapPages = min(options.pages(forHistory: configuration.maxSeconds), ProfileService.maxWindowPages)
        options.output = scratchPath("window")
        let recording = options
        let thread = Thread {
            // Failures reach the requests through the control; there is no file to keep.
            _ = try? Recorder(options: recording).run()
        }
        thread.name = "ember agent window"
        thread.start()
        try await control.waitUntilRecording()
        window = control
        windowBytes = ProfileService.ringBytes(options)
        metrics.ringBytes.increment(by: Double(windowBytes))
        let cpus = options.cpus?.count ?? OnlineCPUs.list().count
        let ring = options.mmapPages * RingBuffer.pageSize
        return "keeping a window of up to \(Int(configuration.maxSeconds)) s in \(cpus) rings of \(ring >= 1 << 20 ? "\(ring >> 20) MiB" : "\(ring >> 10) KiB")"
    }

    /// Removes the scratch directories of agents that were killed (SIGKILL leaves them): `ember-agent-PID-UUID`
    /// whose process is gone, and in them only the agent's own files (recordings, snapshots, their temporary
    /// names); a directory holding anything else stays.
    static func collectLeftovers(in directory: String) {
        for name in directoryEntries(directory, directoriesOnly: true) where name.hasPrefix("ember-agent-") {
            let fields = name.dropFirst("ember-agent-".count).split(separator: "-", maxSplits: 1)
            guard fields.count == 2, UUID(uuidString: String(fields[1])) != nil, let pid = Int32(fields[0]), pid > 0, pid != getpid(),
                  kill(pid, 0) != 0, errno == ESRCH else { continue }
            let path = directory + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR, st.st_uid == geteuid() else { continue }
            for file in directoryEntries(path) where ProfileService.isScratchFile(file) { unlink(path + "/" + file) }
            rmdir(path)
        }
    }

    /// The names the agent gives its files: `WHAT-UUID.data`, and their temporary names while written.
    private static func isScratchFile(_ name: String) -> Bool {
        let plain = name.hasPrefix(".") ? String(name.dropFirst().prefix { $0 != "." } + ".data") : name
        guard plain.hasSuffix(".data"), let dash = plain.firstIndex(of: "-"),
              ["profile", "snapshot", "window"].contains(String(plain[..<dash])) else { return false }
        return UUID(uuidString: String(plain[plain.index(after: dash)...].dropLast(5))) != nil
    }

    /// Closes a continuous window's events and removes the scratch directory.
    public func stop() {
        window?.stop()
        window = nil
        metrics.ringBytes.decrement(by: Double(windowBytes))
        windowBytes = 0
        for name in (try? FileManager.default.contentsOfDirectory(atPath: scratch)) ?? [] { unlink(scratch + "/" + name) }
        rmdir(scratch)
    }

    /// The last `seconds` of samples: recorded now, or (continuous) taken from the window, and then only those after
    /// `previous` (a perf-clock time: the last window pushed), so that consecutive windows neither overlap nor leave
    /// a gap. As pprof, or with `otlp` as an OTLP request (from the configuration's template) alone.
    public func profile(seconds: Double, after previous: UInt64? = nil, otlp: Bool = false) async throws -> ProfileWindow {
        let answer: ProfileWindow
        let format = otlp ? configuration.otlp ?? OTLPBuilder() : nil
        if let window {
            answer = try await fromWindow(window, seconds: seconds, after: previous, otlp: format)
        } else if let running = inFlight, !otlp {
            metrics.served.increment()
            return try await running.value
        } else {
            var options = configuration.template
            options.duration = seconds
            let filter = self.filter
            let task = Task { try await record(options) { path in try ProfileService.build(path, filter: filter, builder: PprofBuilder(), otlp: format) } }
            if !otlp { inFlight = task }
            defer { if !otlp { inFlight = nil } }
            answer = try await task.value
        }
        count(answer)
        return answer
    }

    /// The next `seconds` of off-CPU time: the stacks threads blocked in (the sched_switch tracepoint, with call
    /// chains, on every CPU), each weighted by how long its thread stayed off the CPU, as `ember flamegraph --offcpu`
    /// draws them. Requests at once share one recording.
    public func offCPU(seconds: Double) async throws -> ProfileWindow {
        if let running = inFlightOffCPU {
            metrics.served.increment()
            return try await running.value
        }
        var plan = LatencyPlan(kinds: [.offcpu])
        if configuration.template.callGraph != .none { plan.callGraph = configuration.template.callGraph }
        // Every CPU, with no command; the filter keeps the agent's target.
        var template = configuration.template
        template.target = .allCPUs(command: nil)
        var options = try plan.recordOptions(template).options
        options.duration = seconds
        let filter = self.filter
        let task = Task {
            try await record(options) { path in
                let offCPU = try OffCPUTime(try Replay(path: path))
                var builder = PprofBuilder()
                builder.eventName = OffCPUTime.eventName
                builder.weight = { offCPU.weight($0) }
                builder.valueType = (type: "offcpu", unit: "nanoseconds")
                return try ProfileService.build(path, filter: filter, builder: builder)
            }
        }
        inFlightOffCPU = task
        defer { inFlightOffCPU = nil }
        let answer = try await task.value
        count(answer)
        return answer
    }

    /// The next `seconds` of a heap profile of `-p`'s processes, which must have been started with the heap shim
    /// preloaded: the allocations sampled meanwhile with their frees, as Go's `/debug/pprof/heap?seconds=N` answers a
    /// delta profile (in use: allocated in the window and not freed by its end).
    public func heap(seconds: Double) async throws -> ProfileWindow {
        var options = try HeapShim.recording(configuration.template, rate: HeapShim.defaultRate, extra: [])
        options.duration = seconds
        let filter = self.filter
        let answer = try await record(options) { path in
            let heap = try HeapProfile(try Replay(path: path))
            return try ProfileService.build(path, filter: filter, builder: heap.pprofBuilder(.inuse), prepare: HeapProfile.hideAllocatorFrames)
        }
        count(answer)
        return answer
    }

    private func count(_ answer: ProfileWindow) {
        metrics.served.increment()
        metrics.samples.increment(by: Int64(clamping: answer.samples))
        metrics.lost.increment(by: Int64(clamping: answer.lost))
    }

    /// What the agent's target keeps of a recording of every CPU: `-p`'s processes, or `--comm`'s.
    private var filter: SampleFilter {
        var filter = SampleFilter()
        if case .processes(let pids) = configuration.template.target { filter.pids = Set(pids) }
        if let comm = configuration.processComm { filter.processComms = [comm] }
        return filter
    }

    /// Records `options` for their duration on a thread of its own into a scratch file, then reads it with `read`.
    private func record(_ options: RecordOptions, read: @escaping @Sendable (String) throws -> ProfileWindow) async throws -> ProfileWindow {
        var options = options
        options.progress = false
        options.ownsSignals = false
        options.output = scratchPath("profile")
        let recording = options, metrics = self.metrics
        return try await ProfileService.onThread("ember agent drain") {
            defer { unlink(recording.output) }
            let bytes = Double(ProfileService.ringBytes(recording))
            metrics.ringBytes.increment(by: bytes)
            defer { metrics.ringBytes.decrement(by: bytes) }
            let from = Date().timeIntervalSince1970
            metrics.recordings.increment()
            _ = try Recorder(options: recording).run()
            var window = try read(recording.output)
            window.from = Int(from.rounded(.down))
            return window
        }
    }

    private func fromWindow(_ window: FlightControl, seconds: Double, after previous: UInt64?, otlp: OTLPBuilder?) async throws -> ProfileWindow {
        let snapshot = try await window.snapshot(to: scratchPath("snapshot"))
        let taken = Date().timeIntervalSince1970
        let newest = snapshot.newestTime
        var start = newest &- min(newest, UInt64(seconds * 1e9))
        if let previous, previous < newest { start = max(previous + 1, newest &- min(newest, UInt64(configuration.maxSeconds * 1e9))) }
        var recent = self.filter
        recent.times = [start...UInt64.max]
        let filter = recent, span = Double(newest &- start) / 1e9
        return try await ProfileService.onThread("ember agent snapshot") {
            defer { unlink(snapshot.path) }
            var window = try ProfileService.build(snapshot.path, filter: filter, builder: PprofBuilder(), otlp: otlp)
            window.from = Int((taken - span).rounded(.down))
            window.until = Int(taken.rounded(.up))
            window.newest = newest
            return window
        }
    }

    /// The bytes of ring buffer a recording maps: a metadata page and the data pages, on each CPU.
    private static func ringBytes(_ options: RecordOptions) -> Int {
        (options.mmapPages + 1) * RingBuffer.pageSize * (options.cpus?.count ?? OnlineCPUs.list().count)
    }

    /// The pprof of a recording's samples that pass `filter`, or with `otlp` their OTLP request instead; `from` is
    /// left for the caller.
    private static func build(_ path: String, filter: SampleFilter, builder: PprofBuilder, otlp: OTLPBuilder? = nil,
                              prepare: (Replay) -> Void = { _ in }) throws -> ProfileWindow {
        let replay = try Replay(path: path)
        replay.filter = filter
        prepare(replay)
        let until = Int(Date().timeIntervalSince1970.rounded(.up))
        if let otlp {
            let request = try otlp.build(replay)
            let samples = request.resourceProfiles.flatMap(\.scopeProfiles).flatMap(\.profiles).flatMap(\.samples)
                .reduce(UInt64(0)) { $0 + UInt64($1.values.count) }
            return ProfileWindow(pprof: [], otlp: Array(try request.serializedData()), samples: samples, lost: replay.lostRecords, from: 0, until: until)
        }
        let profile = try builder.build(replay)
        let samples = profile.sample.reduce(UInt64(0)) { $0 + UInt64(max(0, $1.value.first ?? 0)) }
        return ProfileWindow(pprof: try PprofBuilder.gzipped(profile), samples: samples, lost: replay.lostRecords, from: 0, until: until)
    }

    /// A file for one recording or snapshot, removed once its profile is built.
    private func scratchPath(_ what: String) -> String {
        "\(scratch)/\(what)-\(UUID().uuidString).data"
    }

    /// Runs `body` on a thread of its own: recording blocks while it drains, and reading is long CPU work that the
    /// server's threads should not carry. Reading a recording allocates tens of megabytes (symbol tables, DWARF) that
    /// are freed at its end, on a new thread each time, so in any of glibc's arenas: with fixed thresholds
    /// (`ember_malloc_fixed_thresholds`, set once) large blocks go back to the system when freed and arenas do not
    /// keep tens of free megabytes at their ends, and malloc_trim returns what is left in the middle, so that a
    /// long-running agent's memory stays flat.
    private static func onThread<T: Sendable>(_ name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                let result = Result { try body() }
                ember_malloc_trim()
                continuation.resume(with: result)
            }
            thread.name = name
            thread.start()
        }
    }
}
