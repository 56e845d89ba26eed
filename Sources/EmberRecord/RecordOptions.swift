import EmberKernel

/// What `ember record` should record.
public struct RecordOptions: Sendable {
    public enum Target: Sendable, Equatable {
        /// Start this command and follow it and its children.
        case command([String])
        /// Attach to running processes (all their threads).
        case processes([Int32])
        /// Every CPU; with a command, until it exits.
        case allCPUs(command: [String]?)
    }

    public enum Sampling: Sendable, Equatable {
        case frequency(UInt64)
        case period(UInt64)
    }

    public var target: Target
    /// The `-e` events, each with its `--filter`; several share one ring buffer per CPU.
    public var events: [RecordedEvent] = [RecordedEvent(.counter(.cpuClock))]
    /// PERF_RECORD_SWITCH records of the target's tasks (`attr.context_switch`): when each one leaves a CPU and when it
    /// comes back, which no event in a task's own context can tell.
    public var contextSwitches = false
    public var sampling: Sampling = .frequency(999)
    /// The frequency was not asked for: when the kernel's limit is lower, record at the limit (as perf does).
    public var samplingIsDefault = true
    public enum CallGraph: Sendable, Equatable {
        case none
        /// Kernel and user call chains walked by the kernel through frame pointers (`-g`).
        case framePointer
        /// Kernel call chains, plus the user registers and this many bytes of user stack per sample, unwound
        /// through CFI when read (`--call-graph dwarf[,SIZE]`).
        case dwarf(stackBytes: UInt32)

        /// perf's default stack copy.
        public static let defaultStackBytes: UInt32 = 8192
        /// `sample_stack_user` must be a multiple of 8 below USHRT_MAX.
        public static let maxStackBytes: UInt32 = 65528
    }

    public var callGraph: CallGraph = .none
    /// With frame-pointer call chains: also the user IP, SP and BP and `leafStackBytes` of user stack, from which
    /// Ember's readers put back the callers that functions without a frame pointer hide (`-g` into a file). perf
    /// reads any event with a register set and a stack copy as a DWARF recording and appends its own unwind of the
    /// copy to the chain, so a file keeps them beside its samples (`SampleSideData`); a pipe or a flight recorder's
    /// snapshot keeps them in the samples.
    public var repairsLeaves = false
    /// With DWARF call chains into a file: when a sample's copy is full (its stack goes on), keep the rest of the
    /// thread's stack beside the samples, taken with the sample by a BPF program or read at the next drain
    /// (`SideCapture`), for the readers to complete the unwind where it agrees with the copy
    /// (`SampleSideData.Kind.stackTail`; `--no-stack-tail` turns it off).
    public var readsStackTails = true
    /// With DWARF call chains, or frame-pointer ones whose leaves are repaired, into a file: take each sample's
    /// Swift async context chain with it (a BPF program on the sampling events; `--no-async-stacks` turns it off).
    public var takesAsyncChains = true
    /// The most a stack tail read at drain time takes: deeper stacks stay truncated there.
    public static let stackTailBytes = 512 << 10
    /// The stack copy of a frame-pointer sample: enough for the frames of a leaf or two (a sixteenth of DWARF's).
    public static let leafStackBytes: UInt32 = 512
    /// The stack a uprobe's sample copies for its leaf repair (see `RecordingSession`).
    public static let probeStackBytes: UInt32 = 64
    /// The stack a USDT probe's sample copies for its leaf repair, when asked (`RecordedEvent.repairsLeaf`): the
    /// frames of the probe's function and of its callers that keep no frame pointer (the heap shim's take 88 bytes,
    /// C++'s operator new 24 more).
    public static let probeSiteStackBytes: UInt32 = 256
    /// `PERF_REG_X86_BP`, `SP` and `IP`.
    public static let leafRegisters: UInt64 = 1 << 6 | 1 << 7 | 1 << 8
    /// Data pages per CPU ring buffer, a power of two.
    public var mmapPages = 128
    /// Only these CPUs (`-C`); all online ones when nil.
    public var cpus: [Int32]?
    /// Follow the threads and processes the target creates (perf's default; `--no-inherit` turns it off).
    public var inherit = true
    /// With `.processes`: only these of their threads (`-t`).
    public var threads: [Int32]?
    /// Seconds to wait after the command starts (or the recording, without one) before the events are enabled
    /// (`-D`).
    public var delay: Double?
    /// The command's whole environment (`NAME=value` entries), instead of Ember's own (nil).
    public var environment: [String]?
    public var output = "perf.data"
    public var duration: Double?
    /// Send `RecordMessage.progress` each second (the CLI draws it on a terminal).
    public var progress = true
    /// Where the recording's messages go while it runs (warnings, snapshot lines, progress): library code never
    /// prints. Nothing is said by default.
    public var messages: @Sendable (RecordMessage) -> Void = { _ in }
    /// SIGINT, SIGTERM and SIGHUP stop the recording (and SIGUSR2 asks for a snapshot). Off for a recording inside
    /// another program (`ember agent`, `EmberProfiler`): the signals stay that program's, since a recorder reading
    /// them through a signalfd would take them from it; the recording ends by its duration or `control`.
    public var ownsSignals = true
    /// The command line to store in the file's CMDLINE section.
    public var commandLine: [String] = []
    /// A flight recording (`--overwrite`): the kernel keeps the newest samples in overwrite rings, and each
    /// SIGUSR2 (and the end, unless `finalSnapshot` is off) writes them to `OUTPUT.<timestamp>`.
    public var overwrite = false
    public var finalSnapshot = true
    /// With `overwrite`: another thread's way to ask for snapshots and to stop the recording (`ember agent
    /// --continuous`).
    public var control: FlightControl?
    /// Without `overwrite`: when to close the current file and start the next (`--switch-output`); every file is
    /// then named `OUTPUT.<timestamp>`.
    public enum SwitchOutput: Sendable, Equatable {
        case signal
        case size(UInt64)
        case time(Double)
    }

    public var switchOutput: SwitchOutput?
    /// `--switch-output-event`: each hit of this event writes a snapshot (or starts the next file), at most one per
    /// `snapshotMinInterval` seconds.
    public var snapshotEvent: EventRequest?
    public var snapshotMinInterval = 1.0
    /// `--snapshot-on-latency BINARY:SYMBOL>DURATION`: a snapshot after each call of the function slower than
    /// `nanoseconds`.
    public var slowCall: (binary: String, symbol: String, nanoseconds: UInt64)?
    /// `--history`: the seconds of samples each CPU's overwrite ring is sized to keep; a snapshot that holds less
    /// says so once.
    public var history: Double?

    /// Ring pages (a power of two) that hold `seconds` of samples per CPU at this recording's rate and call-graph
    /// mode: each sample's fixed fields, plus 64 frames of call chain (`-g`) or the stack copy and registers
    /// (`--call-graph dwarf`). Period sampling is counted as 1000 samples a second.
    public func pages(forHistory seconds: Double) -> Int {
        var rate = 1000.0
        if case .frequency(let f) = sampling { rate = Double(f) }
        var bytes = 56.0
        switch callGraph {
        case .none: break
        case .framePointer: bytes += 8 + 64 * 8 + (repairsLeaves ? 8 + 24 + 16 + Double(RecordOptions.leafStackBytes) : 0)
        case .dwarf(let stack): bytes += 8 + 16 * 8 + Double(stack) + 24 + 8 * Double(EventResolver.userRegisters.nonzeroBitCount)
        }
        let needed = seconds * rate * bytes
        var pages = 1
        while Double(pages * RingBuffer.pageSize) < needed, pages < 1 << 20 { pages *= 2 }
        return pages
    }
    /// Keep only this many snapshot files, deleting the oldest (`--switch-max-files`).
    public var switchMaxFiles: Int?

    public init(target: Target) {
        self.target = target
    }

    /// The processes `-p` (or `-t`) names; none for a command or `-a`.
    var targetPIDs: [Int32] {
        if case .processes(let pids) = target { return pids }
        return []
    }
}

/// One event a recording records.
public struct RecordedEvent: Sendable {
    public var request: EventRequest
    /// A tracepoint filter (`--filter`).
    public var filter: String?
    /// On every CPU (or those of `-C`), whatever the target: what other processes do to the target, such as the
    /// wakeups a latency plan measures run-queue delay from. The first event must not be one.
    public var allCPUs = false
    /// Takes the recording's call graph; off for events that are measured, not folded (syscalls, probe returns).
    public var stacks = true
    /// With frame-pointer chains, whether its samples take what the leaf repair needs (`RecordOptions.repairsLeaves`)
    /// where its kind would not (a USDT probe in code called from functions that keep no frame pointer); nil: as
    /// its kind.
    public var repairsLeaf: Bool?

    public init(_ request: EventRequest, filter: String? = nil, allCPUs: Bool = false, stacks: Bool = true, repairsLeaf: Bool? = nil) {
        self.request = request
        self.filter = filter
        self.allCPUs = allCPUs
        self.stacks = stacks
        self.repairsLeaf = repairsLeaf
    }
}

/// What a recording produced.
public struct RecordSummary: Sendable {
    /// Samples in the file.
    public var samples: UInt64 = 0
    /// Samples read from the rings that never reached the file (a write failed: a full disk).
    public var dropped: UInt64 = 0
    /// Events the kernel could not put in a full ring.
    public var lost: UInt64 = 0
    public var throttled: UInt64 = 0
    /// The file's size.
    public var bytes: UInt64 = 0
    /// Writing the file failed (a full disk): the recording stopped early, and the command exits non-zero.
    public var writeFailed = false
    /// An existing FILE.old was replaced by the previous FILE.
    public var replacedOld = false
    public var seconds: Double = 0
    /// The command's process id, when recording ran one.
    public var commandPID: Int32?
    /// The command's exit status (128 + signal when killed); 0 without a command.
    public var exitStatus: Int32 = 0
    /// Things worth saying once (fallbacks, why the recording stopped early).
    public var notes: [String] = []
    /// The snapshot files a flight recording wrote, or the files of a `--switch-output` recording (the kept ones),
    /// oldest first.
    public var snapshots: [String] = []
}

extension RecordOptions {
    /// The processes `-t` threads belong to, each once, in order; nil when one of the threads does not exist.
    public static func processes(ofThreads tids: [Int32]) -> [Int32]? {
        var pids: [Int32] = []
        for tid in tids {
            guard let pid = ProcScanner.process(ofThread: tid) else { return nil }
            if !pids.contains(pid) { pids.append(pid) }
        }
        return pids
    }
}
