import EmberPerfData

/// What a flight recording knows about processes while their samples age in the overwrite rings: each live thread's
/// name and each live process's mappings, from the side-band ring's COMM, MMAP2, FORK and EXIT records (and from
/// /proc at the start), so that every snapshot can describe the processes it has samples of.
///
/// Bounded by live processes and their mappings, not by time: a new mapping replaces those it overlaps, an exec
/// starts the process's maps over, and of the processes and threads that exited the newest `exitedLimit` are kept
/// (a snapshot may hold samples of a process that exited inside its window).
final class SideBand {
    private struct Process {
        var comms: [Int32: String] = [:]
        /// Mappings by start address, none overlapping.
        var maps: [MmapRecord] = []
        var exited = false
    }

    private var processes: [Int32: Process] = [:]
    /// Exited threads and processes (tid == pid), oldest first.
    private var exited: [(pid: Int32, tid: Int32)] = []
    private var exitedStart = 0
    static let exitedLimit = 4096

    /// Applies one side-band record.
    func apply(_ record: UnsafeRawBufferPointer) {
        guard record.count >= 8 else { return }
        let type = RecordType(rawValue: record.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        switch type {
        case .comm:
            guard let c = CommRecord(record: record) else { return }
            if c.isExec { processes[c.pid] = Process() }
            setComm(pid: c.pid, tid: c.tid, c.comm)
        case .mmap, .mmap2:
            guard let m = MmapRecord(record: record, type: type), m.cpuMode != .kernel, m.pid > 0 else { return }
            add(m)
        case .fork:
            guard let t = TaskRecord(record: record) else { return }
            fork(t)
        case .exit:
            guard let t = TaskRecord(record: record) else { return }
            noteExit(pid: t.pid, tid: t.tid)
        default:
            break
        }
    }

    func setComm(pid: Int32, tid: Int32, _ comm: String) {
        processes[pid, default: Process()].comms[tid] = comm
    }

    /// A mapping over part of an older one leaves the older one's other parts: the dynamic loader maps a library's
    /// whole span with its code's protection first, then its data segments over the end.
    func add(_ m: MmapRecord) {
        var p = processes[m.pid, default: Process()]
        let end = m.start &+ m.length
        var maps: [MmapRecord] = []
        maps.reserveCapacity(p.maps.count + 2)
        for old in p.maps {
            let oldEnd = old.start &+ old.length
            guard old.start < end, m.start < oldEnd else {
                maps.append(old)
                continue
            }
            if old.start < m.start {
                var left = old
                left.length = m.start - old.start
                maps.append(left)
            }
            if oldEnd > end {
                var right = old
                right.start = end
                right.length = oldEnd - end
                right.pageOffset = old.pageOffset &+ (end - old.start)
                maps.append(right)
            }
        }
        let index = maps.firstIndex { $0.start > m.start } ?? maps.count
        maps.insert(m, at: index)
        p.maps = maps
        processes[m.pid] = p
    }

    private func fork(_ t: TaskRecord) {
        let parentComm = processes[t.ppid]?.comms[t.ptid] ?? processes[t.ppid]?.comms[t.ppid]
        if t.pid != t.ppid {
            // A new process: a copy of its parent's address space, under its own pid.
            var child = Process()
            child.maps = (processes[t.ppid]?.maps ?? []).map { var m = $0; m.pid = t.pid; m.tid = t.tid; return m }
            processes[t.pid] = child
        }
        if let parentComm { setComm(pid: t.pid, tid: t.tid, parentComm) }
    }

    private func noteExit(pid: Int32, tid: Int32) {
        guard processes[pid] != nil else { return }
        if pid == tid { processes[pid]?.exited = true }
        exited.append((pid, tid))
        if exited.count - exitedStart > SideBand.exitedLimit {
            let (oldPid, oldTid) = exited[exitedStart]
            exitedStart += 1
            if oldPid == oldTid {
                if processes[oldPid]?.exited == true { processes[oldPid] = nil }
            } else {
                processes[oldPid]?.comms[oldTid] = nil
            }
            if exitedStart > 4096 {
                exited.removeFirst(exitedStart)
                exitedStart = 0
            }
        }
    }

    /// The records that describe the live processes and the exited ones in `sampled`: each thread's COMM, then
    /// each mapping's MMAP2, encoded for the recording's first event.
    func records(sampled: Set<Int32>, encoder: RecordEncoder) -> [[UInt8]] {
        var out: [[UInt8]] = []
        for (pid, p) in processes.sorted(by: { $0.key < $1.key }) where !p.exited || sampled.contains(pid) {
            for (tid, comm) in p.comms.sorted(by: { $0.key < $1.key }) { out.append(encoder.comm(pid: pid, tid: tid, name: comm)) }
            for m in p.maps { out.append(encoder.mmap2(m)) }
        }
        return out
    }
}
