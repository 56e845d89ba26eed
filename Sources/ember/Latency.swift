import ArgumentParser

extension LatencyKind: ExpressibleByArgument {}
import EmberBPF
import EmberKernel
import EmberLatency
import EmberRecord
import EmberRender
import EmberReplay
import EmberStacks
import EmberSymbols

struct Latency: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latency",
        abstract: "Where processes wait: run-queue delay, off-CPU time, syscalls and functions, with percentiles.",
        discussion: """
            Records a command's process tree, or -p processes, alone (their scheduler events and context switches,
            syscalls and probes; only the wakeups other processes make come from every CPU), or -a every CPU; or
            reads a recording with -i (Ember's, or perf sched record's; -p then picks the processes): every kind
            it holds, or those asked for. --sched alone without -o is measured in the kernel by a BPF program (as root):
            nothing is recorded, and the machine pays far less per context switch.
            Examples:
              ember latency -- ./server --port 8080
              ember latency --sched --per-thread -p 1234 --duration 10     # in the kernel (BPF)
              ember latency --syscalls --func libc:malloc -- ./app
              ember latency -i perf.data --json
            """
    )

    @Option(name: [.customShort("i"), .long], help: "Report on this recording instead of recording.")
    var input: String?

    @Option(name: [.customShort("o"), .long], help: "Where to record (default latency.data). --sched alone without -o records nothing: a BPF program measures in the kernel (as root), events are recorded otherwise.")
    var output: String?

    @Flag(help: "Run-queue delay: from becoming runnable (a wakeup, or preemption) to running.")
    var sched = false

    @Flag(help: "Off-CPU time: from blocking to running again.")
    var offcpu = false

    @Flag(help: "System calls: from raw_syscalls:sys_enter to sys_exit, by name, with their errors (negative returns).")
    var syscalls = false

    @Option(help: ArgumentHelp("A function (repeatable): from a uprobe at its entry to a uretprobe at its return, paired per thread. BINARY:SYMBOL as 'record -e uprobe:' takes it.", valueName: "binary:symbol"))
    var `func`: [String] = []

    @Option(help: ArgumentHelp("A kernel function (repeatable): from a kprobe at its entry to a kretprobe at its return, paired per thread.", valueName: "function"))
    var kfunc: [String] = []

    @Flag(name: .customLong("per-thread"), help: "A row per thread under each process.")
    var perThread = false

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Flag(help: "A log2 histogram under each row, as BCC's tools print them.")
    var hist = false

    @Option(help: ArgumentHelp("Also draw a latency heat map (time across, latency up, colour the count) as an SVG.", valueName: "file.svg"))
    var heatmap: String?

    @Option(name: .customLong("heatmap-of"), help: "The kind the heat map shows: sched, offcpu, syscall, function or kfunction (default: the first asked for).")
    var heatmapOf: LatencyKind?

    @Flag(help: "With --offcpu, also record the stacks that wake each wait (on every CPU), for 'collapse --offcpu --wakers'.")
    var wakers = false

    @Option(name: .customLong("call-graph"), help: "How off-CPU stacks are recorded: fp (default: the frame-pointer chain, and the callers libc's functions hide put back from a small stack copy kept beside it), fp,norepair (the chain alone) or dwarf[,SIZE] for code without frame pointers.")
    var callGraph: String?

    @Option(name: [.customLong("comms"), .customLong("comm")], help: "Only processes with these names (comma-separated) in the report (--comm is the same).")
    var comm: String?

    @Option(help: "Leave out waits shorter than this (such as 50us, 2ms, 1s).")
    var min: String?

    @Option(help: ArgumentHelp("Only waits in this time span, as the readers' --time takes it (START,STOP, 10%/3).", valueName: "start,stop"))
    var time: String?

    @Option(parsing: .unconditional, help: "Only the N processes that waited longest.")
    var top: Int?

    @Flag(name: .customLong("all-processes"), help: "With -i, every process the recording holds, not only the command (or -p processes) it was made for.")
    var allProcesses = false

    @OptionGroup var target: TargetOptions
    @OptionGroup var scope: ScopeOptions

    func validate() throws {
        if let top, top < 1 { throw ValidationError("--top must be at least 1 (got \(top))") }
    }

    func run() throws {
        var kinds = Set<LatencyKind>()
        if sched { kinds.insert(.sched) }
        if offcpu { kinds.insert(.offcpu) }
        if syscalls { kinds.insert(.syscall) }
        if !self.func.isEmpty { kinds.insert(.function) }
        if !kfunc.isEmpty { kinds.insert(.kfunction) }
        // Recording measures sched and off-CPU time unless told otherwise; a recording read back, what it holds.
        if kinds.isEmpty, input == nil { kinds = [.sched, .offcpu] }
        for f in self.func where f.split(separator: ":").count < 2 {
            throw Diagnostics.fail("--func \(f): give BINARY:SYMBOL, such as --func ./app:parse_config or --func libc:malloc")
        }
        // `ember latency sched`: a kind written as a word, not as the command to run (that follows --).
        if let word = target.command.first, let flag = Latency.kindFlags[word] {
            throw Diagnostics.fail("'\(word)' is not a command here; choose what to measure with \(flag) (a command to run goes after --)", status: 64)
        }
        let minimum = try min.map(Latency.nanoseconds) ?? 0
        if measuresInKernel(kinds), let measured = try measureInKernel() {
            let names = comm.map { Set($0.split(separator: ",").map(String.init)) }
            let pids = try target.pidList()
            var latency = LatencyReport(
                recording: "", durationNs: measured.durationNs, lostEvents: measured.dropped, threads: measured.threads,
                model: measured.model, perThread: perThread, top: top,
                include: { pid, name in (pids?.contains(pid) ?? true) && (names?.contains(name) ?? true) })
            latency.measuredInKernel = true
            let out = TextOutput(fd: 1)
            out.write(json ? latency.json : latency.text(histograms: hist))
            try finishOutput(out)
            if measured.dropped > 0 {
                Diagnostics.warning("\(measured.dropped) waits were not measured because the BPF program's maps were full (too many threads at once; record events with -o FILE instead)")
            }
            if measured.exitStatus != 0 { throw ExitCode(measured.exitStatus) }
            return
        }
        var pids: [Int32]?
        var root: Int32?
        var status: Int32 = 0
        let path: String
        if let input {
            guard target.command.isEmpty, !target.allCPUs, target.duration == nil, scope.cpuList == nil, scope.delay == nil, !scope.noInherit else {
                throw Diagnostics.fail("-i reads a recording; give either -i FILE or what to record (-- CMD, -p PID, -a)")
            }
            // With a recording, -p chooses the processes to report.
            pids = try target.pidList()
            path = input
        } else {
            var plan = LatencyPlan(kinds: kinds)
            plan.functions = self.func
            plan.kernelFunctions = kfunc
            plan.wakers = wakers
            if wakers, !kinds.contains(.offcpu) { throw Diagnostics.fail("--wakers records what wakes off-CPU waits; add --offcpu") }
            var template = RecordOptions(target: try target.target(verb: "record", owner: Latency.self))
            template.output = output ?? Latency.defaultOutput
            template.duration = target.duration
            template.cpus = try scope.cpus()
            template.delay = try scope.delaySeconds()
            template.progress = false
            template.commandLine = ["ember"] + CommandLine.arguments.dropFirst()
            if kinds.contains(.offcpu) {
                do {
                    plan.callGraph = try Record.callGraphMode(callGraph ?? "fp", framePointer: true)
                    template.repairsLeaves = Record.repairsLeaves(callGraph, plan.callGraph, output: template.output)
                } catch let problem as Record.UsageProblem {
                    throw Diagnostics.fail(problem.text)
                }
            }
            let options: RecordOptions
            do {
                (options, pids) = try plan.recordOptions(template)
            } catch {
                throw Diagnostics.fail("\(error)")
            }
            if case .processes = template.target, target.duration == nil { Diagnostics.note("recording until Ctrl-C (or use --duration SECONDS)") }
            let summary = try Record.record(options, as: "latency")
            // --no-inherit: the command's own process, not what it starts.
            if scope.noInherit, let pid = summary.commandPID { pids = [pid] } else { root = summary.commandPID }
            status = summary.exitStatus
            path = template.output
        }
        let (file, replay) = try openRecording(path, options: SymbolOptions())
        // A recording made for a command (or -p processes) reports them, as when it was made; -p and --comm pick
        // others, --all-processes every process.
        if input != nil, pids == nil, comm == nil, !allProcesses, let first = file.recordedTarget.first {
            if file.recordedTarget.count == 1 { root = first } else { pids = file.recordedTarget }
        }
        if kinds.isEmpty {
            kinds = LatencyAnalysis.kinds(recordedIn: replay.events)
            guard !kinds.isEmpty else {
                throw Diagnostics.fail("\(path) holds no events latency measures (sched:sched_switch, raw_syscalls, probe returns); record them with 'ember latency -- CMD'")
            }
        }
        if let time { replay.filter.times = try SampleFilterFlags.times(time, replay) }
        let names = comm.map { Set($0.split(separator: ",").map(String.init)) }
        let include: (Int32, String) -> Bool = { pid, name in
            if let root, !replay.model.isDescendant(pid, of: root) { return false }
            if let pids, !pids.contains(pid) { return false }
            if let names, !names.contains(name) { return false }
            return true
        }
        var analysis = LatencyAnalysis(kinds: kinds, minimumNs: minimum)
        if let heatmap {
            try checkOutput(heatmap)
            let kind = heatmapOf ?? kinds.sorted()[0]
            guard kinds.contains(kind) else { throw Diagnostics.fail("--heatmap-of \(kind.rawValue) is not among the kinds asked for; add --\(kind == .function ? "func BINARY:SYMBOL" : kind == .kfunction ? "kfunc FUNCTION" : kind == .syscall ? "syscalls" : kind.rawValue)") }
            analysis.heatmap = LatencyHeatmap(kind: kind)
            analysis.heatmapIncludes = { tid in
                let pid = replay.model.thread(tid)?.pid ?? tid
                return include(pid, replay.model.processName(pid, thread: tid))
            }
        }
        do {
            try analysis.read(replay)
        } catch let e as LatencyError {
            throw Diagnostics.fail("\(path): \(e)")
        }
        let latency = LatencyReport(
            recording: path, durationNs: analysis.lastTime &- (analysis.firstTime ?? analysis.lastTime),
            lostEvents: replay.lostRecords, threads: analysis.threads, model: replay.model, perThread: perThread, top: top,
            include: include)
        let out = TextOutput(fd: 1)
        out.write(json ? latency.json : latency.text(histograms: hist))
        try finishOutput(out)
        if let heatmap, let map = analysis.heatmap {
            let quoted = path.allSatisfy({ $0.isLetter || $0.isNumber || "/._-+".contains($0) }) ? path : "'" + path.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
            try writeOutput(heatmap, Array(map.svg(title: "Latency heat map: \(map.kind.rawValue) (\(path))", command: "ember latency -i \(quoted)").utf8))
            Diagnostics.note("wrote \(outputName(heatmap))")
        }
        report(replay)
        if !analysis.threadsAffectedByLoss.isEmpty {
            Diagnostics.warning("events were lost; the waits and calls under way then in \(analysis.threadsAffectedByLoss.count) threads were dropped, not measured (record fewer kinds at once; for perf sched record, a larger -m)")
        }
        if analysis.timesOutsideSpan > 0 {
            Diagnostics.warning("\(analysis.timesOutsideSpan) events have times outside the recording's span and were left out, not measured (is \(path) damaged?)")
        }
        if analysis.missedSwitchIns > 0 {
            Diagnostics.warning("the recording lacks the switch-in of \(analysis.missedSwitchIns) waits (the kernel leaves out some switches from an idle CPU, in perf's recordings too); their off-CPU time ends at their wake-up, and their run-queue delay counts as unfinished")
        }
        if input == nil {
            let offCPU = kinds.contains(.offcpu) ? ", or ember flamegraph -i \(path) --offcpu -o offcpu.svg" : ""
            Diagnostics.note("next: ember latency -i \(path) --hist\(offCPU)")
        }
        if status != 0 { throw ExitCode(status) }
    }

    static let defaultOutput = "latency.data"

    /// Run-queue delay alone, for nothing to be read back (no -o, no heat map, no --min or --time, the default
    /// scope): the kernel can do the counting, and the machine is spared a ring record per switch.
    private func measuresInKernel(_ kinds: Set<LatencyKind>) -> Bool {
        input == nil && kinds == [.sched] && output == nil && heatmap == nil && min == nil && time == nil
            && scope.cpuList == nil && scope.delay == nil && !scope.noInherit
    }

    /// Measures with the `runqueue` BPF program; nil (and a note saying why) when it cannot be loaded, for the
    /// caller to record events instead.
    private func measureInKernel() throws -> InKernelRunQueue.Result? {
        let what = try target.target(verb: "record", owner: Latency.self)
        if case .processes = what, target.duration == nil { Diagnostics.note("measuring until Ctrl-C (or use --duration SECONDS)") }
        do {
            return try InKernelRunQueue.measure(what, duration: target.duration)
        } catch let e as BPFError {
            Diagnostics.note("recording scheduler events to \(Latency.defaultOutput): in-kernel measurement is not available (\(e))")
            return nil
        } catch {
            let e = RecordError(wrapping: error)
            throw Diagnostics.fail(e.description, status: e.exitStatus)
        }
    }

    static let kindFlags = ["sched": "--sched", "offcpu": "--offcpu", "syscalls": "--syscalls", "syscall": "--syscalls",
                            "func": "--func BINARY:SYMBOL", "function": "--func BINARY:SYMBOL"]

    /// `--min`: `800ns`, `50us`, `2ms`, `1s`.
    static func nanoseconds(_ text: String) throws -> UInt64 {
        guard let ns = DurationText.nanoseconds(text) else {
            throw Diagnostics.fail("--min \(text) is not a duration; give a number and a unit: 800ns, 50us, 2ms, 1s")
        }
        return ns
    }
}
