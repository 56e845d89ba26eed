import EmberKernel
import EmberPerfData
#if canImport(Glibc)
import Glibc
#endif

/// The perf events of one `-e` of a recording, opened per CPU (and per thread with `-p`) with perf's fallbacks.
/// The first group maps one ring buffer per CPU; every other event on that CPU writes into it.
final class EventGroup {
    private(set) var event: ResolvedEvent
    var attr: EventAttr { event.attr }
    var name: String { event.name }
    private(set) var events: [PerfEvent] = []
    private(set) var rings: [RingBuffer] = []
    private(set) var notes: [String] = []
    /// A hardware event the machine lacks becomes cpu-clock (recording); counting says `<not supported>` instead.
    var fallsBackToCPUClock = true
    /// Opens one event: the syscall, or in tests a stand-in that fails with the errno a case needs (a machine with
    /// a hardware PMU, a paranoid kernel, a thread that exits: what cannot be arranged here).
    var openEvent: (_ attr: EventAttr, _ pid: Int32, _ cpu: Int32, _ probeString: String?) throws -> PerfEvent = {
        try PerfEvent(attr: $0, pid: $1, cpu: $2, probeString: $3)
    }
    /// Root, for whom a refused event has no user-space-only fallback.
    var privileged = geteuid() == 0

    init(event: ResolvedEvent) {
        self.event = event
    }

    /// Opens one event per `(pid, cpu)`, retrying once per fallback: a hardware event the machine lacks becomes
    /// cpu-clock, and a paranoid kernel that forbids kernel sampling gets a user-space-only event.
    func open(targets: [(pid: Int32, cpu: Int32)], describe: String) throws {
        var fellBack = Set<String>()
        while true {
            events.removeAll()
            do {
                for t in targets {
                    do {
                        events.append(try openEvent(event.attr, t.pid, t.cpu, event.probeString))
                    } catch let e as PerfEventOpenError where e.errno == .noSuchProcess && targets.count > 1 && t.pid > 0 {
                        continue  // a thread that exited since we listed it
                    }
                }
                guard !events.isEmpty else { throw RecordError.noSuchProcess(targets.first?.pid ?? -1) }
                return
            } catch let e as PerfEventOpenError {
                if fallsBackToCPUClock, event.attr.type == .hardware, EventGroup.unsupported.contains(e.errno), !fellBack.contains("hw") {
                    fellBack.insert("hw")
                    notes.append("\(event.name) is not supported here (no hardware PMU); falling back to cpu-clock")
                    event.spec = .cpuClock
                    event.name = EventSpec.cpuClock.name
                    event.attr.type = EventSpec.cpuClock.type
                    event.attr.config = EventSpec.cpuClock.config
                    continue
                }
                if e.errno == .permissionDenied || e.errno == .notPermitted {
                    if event.spec != nil, !event.attr.flags.contains(.excludeKernel), !privileged, !fellBack.contains("kernel") {
                        fellBack.insert("kernel")
                        notes.append("kernel.perf_event_paranoid is \(Sysctl.perfEventParanoid.value.map(String.init) ?? "?"): recording user space only")
                        event.attr.flags.formUnion([.excludeKernel, .excludeHypervisor])
                        continue
                    }
                    throw RecordError.permission(what: describe, paranoid: Sysctl.perfEventParanoid.value)
                }
                if e.errno == .noSuchProcess { throw RecordError.noSuchProcess(e.pid) }
                if e.errno == .invalidArgument, event.attr.flags.contains(.freq), let max = Sysctl.perfEventMaxSampleRate.value,
                   event.attr.samplePeriodOrFrequency > UInt64(max) {
                    throw RecordError.frequencyTooHigh(requested: event.attr.samplePeriodOrFrequency, maximum: max)
                }
                if event.probeString != nil {
                    let hint = e.errno == .invalidArgument && event.attr.config >> 32 != 0
                        ? "a probe at the same place may use another semaphore offset (the kernel logs 'Reference counter offset mismatch')"
                        : (e.errno == .invalidArgument ? "is the offset inside an instruction of the binary's code?" : "")
                    throw RecordError.probeRejected(event: event.name, errno: e.errno, hint: hint)
                }
                if EventGroup.unsupported.contains(e.errno) { throw RecordError.eventNotSupported(event.name, e.errno) }
                throw RecordError.openFailed(e)
            }
        }
    }

    /// Maps one ring per CPU (or per task, for events that follow a task onto any CPU) and points every other event
    /// it serves at it; overwrite rings with `overwrite`.
    func mapRings(pages: Int, overwrite: Bool = false) throws {
        var ringByKey: [RingKey: RingBuffer] = [:]
        for event in events {
            if let ring = ringByKey[event.ringKey] {
                try event.output(to: ring)
                continue
            }
            do {
                let ring = try RingBuffer(event: event, dataPages: pages, overwrite: overwrite)
                ringByKey[event.ringKey] = ring
                rings.append(ring)
            } catch let e as RingBufferError {
                if e.errno == .notPermitted || e.errno == .noMemory {
                    throw RecordError.mlockLimit(pages: pages, cpus: Set(events.map(\.ringKey)).count, limitKB: Sysctl.perfEventMlockKB.value)
                }
                throw RecordError.ringBuffer(e)
            }
        }
    }

    /// Maps the first group's rings and points every event of the others at the ring that serves it.
    static func shareRings(_ groups: [EventGroup], pages: Int, overwrite: Bool = false) throws {
        try groups[0].mapRings(pages: pages, overwrite: overwrite)
        var ringByKey: [RingKey: RingBuffer] = [:]
        for ring in groups[0].rings { ringByKey[ring.event.ringKey] = ring }
        for e in groups.dropFirst().flatMap(\.events) {
            guard let ring = ringByKey[e.ringKey] else { continue }
            try e.output(to: ring)
        }
    }

    /// Applies the group's tracepoint filter to each of its events.
    func applyFilter() throws {
        guard let filter = event.filter else { return }
        for e in events {
            do {
                try e.setFilter(filter)
            } catch let error as Errno {
                throw RecordError.filterRejected(event: event.name, filter: filter, reason: filterProblem(filter, error))
            }
        }
    }

    /// The kernel only says EINVAL; name the unknown field, or the grammar, from the event's format.
    private func filterProblem(_ filter: String, _ error: Errno) -> String {
        guard error == .invalidArgument else { return "\(error)" }
        let fields = event.tracepoint.flatMap { TracepointFormat(text: $0.format, system: $0.system) }?.fields.map(\.baseName) ?? []
        let known = Set(fields + ["common_pid", "common_type", "common_flags", "common_preempt_count", "CPU", "COMM"])
        let operators = ["==", "!=", "<=", ">=", "<", ">", "~", "&"]
        var words: [Substring] = []
        var rest = Substring(filter)
        while let start = rest.firstIndex(where: { $0.isLetter || $0 == "_" }) {
            let word = rest[start...].prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            let after = rest[word.endIndex...].drop { $0 == " " }
            if operators.contains(where: { after.hasPrefix($0) }) { words.append(word) }
            rest = after
            if let quote = rest.first, quote == "\"" { rest = rest.dropFirst().drop { $0 != "\"" }.dropFirst() }
        }
        if let unknown = words.first(where: { !known.contains(String($0)) }) {
            return "\(event.name) has no field '\(unknown)' (its fields: \(fields.joined(separator: ", ")))"
        }
        return "invalid filter (the kernel's grammar: FIELD OP VALUE with == != < <= > >= ~ &, joined by && || ! and parentheses)"
    }

    func ids() throws -> [UInt64] {
        try events.map { try $0.id() }
    }

    func enable() throws {
        for e in events {
            do { try e.enable() } catch { throw RecordError.system("PERF_EVENT_IOC_ENABLE", error as? Errno ?? .invalidArgument) }
        }
    }

    /// `-D`: enables `groups` once `delay` seconds have passed, unless the command exits first (which the caller's
    /// loop then sees); `before` runs just before they are enabled.
    static func enable(_ groups: [EventGroup], after delay: Double, waiter: EventWaiter, workload: Workload?,
                       before: () -> Void = {}) {
        let until = monotonicSeconds() + delay
        while monotonicSeconds() < until {
            waiter.wait(timeoutMS: max(1, Int((until - monotonicSeconds()) * 1000)))
            if let workload, workload.pollExit() != nil { return }
        }
        before()
        for g in groups { try? g.enable() }
    }

    /// The errors of an event this kernel or machine does not have.
    static let unsupported: Set<Errno> = [.noEntry, .notSupported, .noDevice]

    func disable() {
        for e in events { try? e.disable() }
    }

    /// Unmaps the rings and closes the events (whoever still holds the group holds nothing open).
    func close() {
        rings.removeAll()
        events.removeAll()
    }
}

extension PerfEvent {
    /// Writes this event's records into `ring` (another event's).
    fileprivate func output(to ring: RingBuffer) throws {
        do { try setOutput(to: ring.event) } catch { throw RecordError.system("PERF_EVENT_IOC_SET_OUTPUT", error as? Errno ?? .invalidArgument) }
    }
}
