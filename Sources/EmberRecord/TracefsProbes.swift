import EmberKernel
#if canImport(Glibc)
import Glibc
#endif

/// Probes defined through tracefs (`uprobe_events`, `kprobe_events`) instead of the probe PMUs, for events that
/// follow forks. The kernel copies an inherited probe-PMU event into each new task by reading its path (or
/// function name) again, from the forking task's memory, where that pointer means nothing: the fork fails
/// ("Cannot fork"). A tracefs probe is a tracepoint, which is inherited safely, as perf's probes are.
///
/// The probes live in the group `ember_PID` and are removed when the recording ends (their events closed first);
/// groups left by an Ember that was killed are removed the next time.
final class TracefsProbes {
    private let group = "ember_\(getpid())"
    private var defined: [(file: String, name: String)] = []

    /// The tracepoint event that stands for a uprobe or kprobe PMU event; other events as they are. Without a
    /// usable tracefs (not root) a probe stays a PMU event that does not follow forks, and `notes` says so.
    func convert(_ event: ResolvedEvent, notes: inout [String]) throws -> ResolvedEvent {
        guard let target = event.probeString else { return event }
        guard geteuid() == 0, (try? Tracefs.mounted()) != nil else {
            var single = event
            single.attr.flags.remove(.inherit)
            single.followsForks = false
            notes.append("\(event.name) follows only the command's first task: without tracefs (root) a probe cannot follow forks")
            return single
        }
        let kind: String, pmu: DynamicPMU?
        if let uprobe = DynamicPMU.named("uprobe"), event.attr.type == uprobe.type {
            (kind, pmu) = ("uprobe", uprobe)
        } else {
            (kind, pmu) = ("kprobe", DynamicPMU.named("kprobe"))
        }
        guard let pmu else { return event }
        let root: String
        do { root = try Tracefs.mounted() } catch { throw RecordError.tracefs("\(error)") }
        if defined.isEmpty { removeStale(root) }
        guard !target.contains(where: \.isWhitespace) else {
            throw RecordError.badEvent(event.name, "tracefs probes cannot name a path with spaces; link the binary from a path without")
        }
        let isReturn = event.attr.config & (1 << UInt64(pmu.retprobeBit)) != 0
        let name = "p\(defined.count)"
        var place = kind == "uprobe" ? "\(target):0x\(String(event.attr.config2, radix: 16))" : "\(target)+\(event.attr.config2)"
        if kind == "uprobe", let shift = pmu.refCtrShift, event.attr.config >> UInt64(shift) != 0 {
            place += "(0x\(String(event.attr.config >> UInt64(shift), radix: 16)))"
        }
        let file = "\(root)/\(kind)_events"
        do {
            try append("\(isReturn ? "r" : "p"):\(group)/\(name) \(place)", to: file)
        } catch {
            let hint = error.rawValue == EINVAL && place.hasSuffix(")")
                ? "a probe at the same place may use another semaphore offset (the kernel logs 'Reference counter offset mismatch')"
                : "tracefs refused the probe definition in \(kind)_events"
            throw RecordError.probeRejected(event: event.name, errno: error, hint: hint)
        }
        defined.append((file, name))
        guard let id = Tracefs.eventID(system: group, name: name), let format = Tracefs.format(system: group, name: name) else {
            throw RecordError.badEvent(event.name, "tracefs created no event \(group):\(name)")
        }
        var converted = event
        converted.attr.type = .tracepoint
        converted.attr.config = id
        converted.attr.config2 = 0
        converted.probeString = nil
        converted.tracepoint = (group, format)
        return converted
    }

    /// Removes the probes defined; their events must be closed by now.
    func removeAll() {
        for (file, name) in defined.reversed() { try? append("-:\(group)/\(name)", to: file) }
        defined.removeAll()
    }

    /// Removes the probe groups of Ember processes that no longer run.
    private func removeStale(_ root: String) {
        for kind in ["uprobe", "kprobe"] {
            let file = "\(root)/\(kind)_events"
            for line in (readSmallFile(file) ?? "").split(separator: "\n") {
                // "p:ember_123/p0 /path:0x1181"
                guard let event = line.split(separator: " ").first?.split(separator: ":").dropFirst().first,
                      event.hasPrefix("ember_"), let slash = event.firstIndex(of: "/"),
                      let pid = Int32(event[event.index(event.startIndex, offsetBy: 6)..<slash]),
                      kill(pid, 0) != 0, errno == ESRCH else { continue }
                try? append("-:\(event)", to: file)
            }
        }
    }

    private func append(_ line: String, to file: String) throws(Errno) {
        let fd = open(file, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { throw Errno.current }
        defer { close(fd) }
        let bytes = Array((line + "\n").utf8)
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else { throw Errno.current }
    }
}
