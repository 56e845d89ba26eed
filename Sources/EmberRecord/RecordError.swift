import EmberKernel

/// Why `ember record` could not record, each with the evidence and what to do about it.
public enum RecordError: Error, CustomStringConvertible {
    case commandNotFound(String)
    case commandNotExecutable(String, Errno)
    case noSuchProcess(Int32)
    case noEvents
    case frequencyTooHigh(requested: UInt64, maximum: Int)
    case permission(what: String, paranoid: Int?)
    case mlockLimit(pages: Int, cpus: Int, limitKB: Int?)
    case eventNotSupported(String, Errno)
    case openFailed(PerfEventOpenError)
    case ringBuffer(RingBufferError)
    case output(String)
    case system(String, Errno)
    case badEvent(String, String)
    case unknownEvent(String)
    case noSuchTracepoint(String, suggestions: [String])
    case tracefs(String)
    case filterRejected(event: String, filter: String, reason: String)
    case noSuchBinary(String)
    /// `stripped`: the binary has no `.symtab`, only its exported functions.
    case noSuchSymbol(binary: String, symbol: String, stripped: Bool)
    case ambiguousSymbol(binary: String, symbol: String, candidates: [String])
    case offsetPastEnd(binary: String, offset: UInt64, size: UInt64)
    case noSuchUSDT(binary: String, probe: String, available: [String])
    case noProbePMU(kind: String)
    case probeRejected(event: String, errno: Errno, hint: String)

    public var description: String {
        switch self {
        case .commandNotFound(let c):
            return "command not found: \(c) (check the name and your PATH)"
        case .commandNotExecutable(let c, let e):
            return "cannot execute \(c): \(e) (check that it is an executable file for this machine)"
        case .noSuchProcess(let pid):
            return "no process with PID \(pid) (list running processes with ps)"
        case .noEvents:
            return "no events to record; give one with -e, such as -e cpu-clock ('ember list' shows them)"
        case .frequencyTooHigh(let f, let max):
            return "sampling frequency \(f) Hz is above kernel.perf_event_max_sample_rate (\(max)); use -F \(max) or lower, or raise the sysctl"
        case .permission(let what, let paranoid):
            let level = paranoid.map(String.init) ?? "unknown"
            return "no permission to \(what): kernel.perf_event_paranoid is \(level); run as root, or allow it with 'sysctl kernel.perf_event_paranoid=-1'"
        case .mlockLimit(let pages, let cpus, let limit):
            let kb = (pages + 1) * RingBuffer.pageSize / 1024 * cpus
            let l = limit.map(String.init) ?? "unknown"
            return "cannot lock \(kb) KiB for ring buffers (\(cpus) CPUs x \(pages) pages): kernel.perf_event_mlock_kb is \(l); use a smaller -m (such as -m 16), run as root, or raise the sysctl"
        case .eventNotSupported(let name, let e):
            return "event \(name) is not supported here (\(e)); use one of: \(EventSpec.known.map(\.name).joined(separator: ", "))"
        case .openFailed(let e):
            return "\(e)"
        case .ringBuffer(let e):
            return "\(e)"
        case .output(let message):
            return message
        case .system(let what, let e):
            return "\(what) failed: \(e)"
        case .unknownEvent(let name):
            return "unknown event '\(name)'; use one of \(EventSpec.known.map(\.name).joined(separator: ", ")), or SYSTEM:TRACEPOINT, uprobe:, uretprobe:, usdt:, kprobe: (see 'ember list')"
        case .badEvent(let text, let why):
            return "bad event '\(text)': \(why)"
        case .noSuchTracepoint(let name, let suggestions):
            let near = suggestions.isEmpty ? "" : "; did you mean \(suggestions.joined(separator: ", "))?"
            return "no tracepoint \(name)\(near) (list them with 'ember list')"
        case .tracefs(let message):
            return message
        case .filterRejected(let event, let filter, let reason):
            return "the kernel rejected the filter '\(filter)' for \(event): \(reason)"
        case .noSuchBinary(let binary):
            return "no binary or library '\(binary)' (give a path, or a library name such as libc)"
        case .noSuchSymbol(let binary, let symbol, let stripped):
            return stripped
                ? "\(binary) has no function '\(symbol)': it is stripped (no .symtab), so only its exported functions have names; probe an offset (\(binary):0xOFFSET) or a build that is not stripped"
                : "\(binary) has no function '\(symbol)' (list them with 'ember list --probes \(binary)')"
        case .ambiguousSymbol(let binary, let symbol, let candidates):
            return "'\(symbol)' is ambiguous in \(binary); it matches \(candidates.joined(separator: ", ")) (name one exactly)"
        case .offsetPastEnd(let binary, let offset, let size):
            return "offset 0x\(String(offset, radix: 16)) is past the end of \(binary) (\(size) bytes)"
        case .noSuchUSDT(let binary, let probe, let available):
            let list = available.isEmpty ? "it has none" : "it has \(available.prefix(10).joined(separator: ", "))"
            return "\(binary) has no USDT probe \(probe); \(list)"
        case .noProbePMU(let kind):
            return kind == "kprobe"
                ? "kprobes are not available: this kernel has no kprobe PMU (/sys/bus/event_source/devices/kprobe; CONFIG_KPROBES is not set)"
                : "uprobes are not available: this kernel has no uprobe PMU (CONFIG_UPROBE_EVENTS is not set)"
        case .probeRejected(let event, let e, let hint):
            return "the kernel rejected \(event): \(e)\(hint.isEmpty ? "" : "; " + hint)"
        }
    }

    /// Any failure of setting up a recording, as a RecordError (writer and ioctl failures come as their own types).
    public init(wrapping error: Error) {
        switch error {
        case let e as RecordError: self = e
        case let e as Errno: self = .system("setting up the events", e)
        default: self = .output("\(error)")
        }
    }

    /// The process exit status this error should produce (127/126 for commands, as shells do).
    public var exitStatus: Int32 {
        switch self {
        case .commandNotFound: return 127
        case .commandNotExecutable: return 126
        default: return 1
        }
    }
}
