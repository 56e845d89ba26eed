import EmberKernel
#if canImport(Glibc)
import Glibc
#endif

/// The perf events of one recording, opened per CPU (and per thread with `-p`) with perf's fallbacks, and one ring
/// buffer per CPU that every event on that CPU writes into.
final class EventGroup {
    private(set) var attr: EventAttr
    private(set) var spec: EventSpec
    private(set) var events: [PerfEvent] = []
    private(set) var rings: [RingBuffer] = []
    private(set) var notes: [String] = []

    init(spec: EventSpec, attr: EventAttr) {
        self.spec = spec
        self.attr = attr
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
                        events.append(try PerfEvent(attr: attr, pid: t.pid, cpu: t.cpu))
                    } catch let e as PerfEventOpenError where e.errno.rawValue == ESRCH && targets.count > 1 && t.pid > 0 {
                        continue  // a thread that exited since we listed it
                    }
                }
                guard !events.isEmpty else { throw RecordError.noSuchProcess(targets.first?.pid ?? -1) }
                return
            } catch let e as PerfEventOpenError {
                let code = e.errno.rawValue
                if attr.type == .hardware, [ENOENT, EOPNOTSUPP, ENODEV].contains(code), !fellBack.contains("hw") {
                    fellBack.insert("hw")
                    notes.append("\(spec.name) is not supported here (no hardware PMU); falling back to cpu-clock")
                    spec = .cpuClock
                    attr.type = spec.type
                    attr.config = spec.config
                    continue
                }
                if code == EACCES || code == EPERM {
                    if !attr.flags.contains(.excludeKernel), geteuid() != 0, !fellBack.contains("kernel") {
                        fellBack.insert("kernel")
                        notes.append("kernel.perf_event_paranoid is \(Sysctl.perfEventParanoid.value.map(String.init) ?? "?"): recording user space only")
                        attr.flags.formUnion([.excludeKernel, .excludeHypervisor])
                        continue
                    }
                    throw RecordError.permission(what: describe, paranoid: Sysctl.perfEventParanoid.value)
                }
                if code == ESRCH { throw RecordError.noSuchProcess(e.pid) }
                if code == EINVAL, attr.flags.contains(.freq), let max = Sysctl.perfEventMaxSampleRate.value,
                   attr.samplePeriodOrFrequency > UInt64(max) {
                    throw RecordError.frequencyTooHigh(requested: attr.samplePeriodOrFrequency, maximum: max)
                }
                if [ENOENT, EOPNOTSUPP, ENODEV].contains(code) { throw RecordError.eventNotSupported(spec.name, e.errno) }
                throw RecordError.openFailed(e)
            }
        }
    }

    /// Maps one ring per CPU and points every other event on that CPU at it.
    func mapRings(pages: Int) throws {
        var ringByCPU: [Int32: RingBuffer] = [:]
        for event in events {
            if let ring = ringByCPU[event.cpu] {
                do { try event.setOutput(to: ring.event) } catch { throw RecordError.system("PERF_EVENT_IOC_SET_OUTPUT", error as? Errno ?? Errno(EINVAL)) }
                continue
            }
            do {
                let ring = try RingBuffer(event: event, dataPages: pages)
                
                ringByCPU[event.cpu] = ring
                rings.append(ring)
            } catch let e as RingBufferError {
                if e.errno.rawValue == EPERM || e.errno.rawValue == ENOMEM {
                    throw RecordError.mlockLimit(pages: pages, cpus: Set(events.map(\.cpu)).count, limitKB: Sysctl.perfEventMlockKB.value)
                }
                throw RecordError.ringBuffer(e)
            }
        }
    }

    func ids() throws -> [UInt64] {
        try events.map { try $0.id() }
    }

    func disable() {
        for e in events { try? e.disable() }
    }
}
