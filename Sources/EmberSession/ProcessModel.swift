import EmberPerfData

/// Processes, threads and their mappings through time, rebuilt from COMM, FORK, MMAP and MMAP2 records, so that a
/// sampled address resolves to the binary that was mapped there at that moment. EXIT needs no handling: samples
/// after a task's exit do not happen, and a reused pid starts over at its FORK or exec. (The properties each sampled
/// frame reads are exempt from Swift's dynamic exclusivity checks, `@exclusivity(unchecked)`: a model is used from
/// one thread, and the checks were a sixth of `collapse`'s time.)
public final class ProcessModel {
    public struct Thread {
        public var pid: Int32
        public var comm: String?
    }

    final class Process {
        @exclusivity(unchecked) var maps = MapTable()
        /// The maps of the image this process replaced at its exec: a sample taken inside `execve`, after the
        /// new image's first mappings, still has the old image's user stack.
        @exclusivity(unchecked) var beforeExec: MapTable?
        var exeDso: Int?
        /// The model's change count when this process's maps last changed (see `version(pid:)`).
        var changed: UInt64
        /// The change count when it began (its fork, its exec, or its first record): which image it runs.
        let image: UInt64
        init(changed: UInt64) {
            self.changed = changed
            image = changed
        }
        init(copying other: Process, changed: UInt64) {
            maps = other.maps
            exeDso = other.exeDso
            self.changed = changed
            image = changed
        }
    }

    /// Where an address landed: the dso and the address in its terms (file offset for files, the address itself
    /// for the kernel and for anonymous memory).
    public struct Location: Equatable {
        public var dso: Int
        public var address: DsoAddress

        /// One integer per location, for caches: 16 bits of dso and the low 48 bits of the address (kernel
        /// addresses share their high bits, user offsets fit).
        @inline(__always)
        public var cacheKey: UInt64 { UInt64(truncatingIfNeeded: dso) << 48 | (address.value & 0xffff_ffff_ffff) }
    }

    /// Per dso, whether its locations are offsets into an ELF image (`Dso.hasFileOffsets`), kept beside `dsos` so
    /// that resolving an address reads no path.
    @exclusivity(unchecked) private var imageBacked: [Bool] = []

    public private(set) var dsos: [Dso] = []
    private var dsoByPath: [String: Int] = [:]
    @exclusivity(unchecked) private var threads: [Int32: Thread] = [:]
    /// Each process's parent, from the FORK records that created processes during the recording.
    private var parents: [Int32: Int32] = [:]
    @exclusivity(unchecked) private var processes: [Int32: Process] = [:]
    public let kernelDso: Int
    /// Where the recorded kernel's `_text` was (its MMAP record), to relocate kernel addresses after a reboot.
    public private(set) var kernelTextStart: UInt64?
    /// The kernel's image and modules where their MMAP records place them, for exports that give each address its
    /// region (symbols need none: they come from kallsyms by absolute address).
    private var kernelMaps = MapTable()
    /// Changes to threads' names (and processes) so far, for a reader that keeps a name it looked up.
    public private(set) var namesChanged: UInt64 = 0
    /// Changes to any address space so far, and the count when the kernel's last changed.
    public private(set) var changes: UInt64 = 0
    /// Processes whose EXIT the recording holds (and no later FORK of the same pid).
    public private(set) var exited: Set<Int32> = []
    private var kernelChanged: UInt64 = 0

    public init() {
        kernelDso = 0
        _ = dsoIndex(path: Dso.kernelPath, kernel: true)
    }

    /// Lowest kernel-half address on x86_64.
    public static let kernelStart: UInt64 = 0xffff_8000_0000_0000

    public func dsoIndex(path: String, kernel: Bool = false) -> Int {
        if let i = dsoByPath[path] { return i }
        let i = dsos.count
        dsos.append(Dso(index: i, path: path, isKernel: kernel))
        imageBacked.append(dsos[i].hasFileOffsets)
        dsoByPath[path] = i
        return i
    }

    /// Applies a non-sample record. Samples and records the model does not track are ignored.
    public func apply(_ record: RecordRef) {
        switch record.type {
        case .mmap, .mmap2:
            guard let m = MmapRecord(record: record.bytes, type: record.type) else { return }
            applyMmap(m)
        case .comm:
            guard let c = CommRecord(record: record.bytes) else { return }
            if c.isExec {
                changes += 1
                let process = Process(changed: changes)
                process.beforeExec = processes[c.pid]?.maps
                processes[c.pid] = process
                lastSampled = (-2, nil)
            }
            threads[c.tid] = Thread(pid: c.pid, comm: c.comm)
            namesChanged += 1
        case .fork:
            guard let f = TaskRecord(record: record.bytes) else { return }
            let parentComm = threads[f.ptid]?.comm ?? threads[f.ppid]?.comm
            if threads[f.tid] == nil || f.pid != threads[f.tid]?.pid {
                threads[f.tid] = Thread(pid: f.pid, comm: parentComm)
                namesChanged += 1
            }
            if f.pid != f.ppid {
                exited.remove(f.pid)
                parents[f.pid] = f.ppid
                // A new process starts with a copy of its parent's address space (or nothing, if the parent
                // predates the recording), never with whatever an earlier process of the same pid had.
                changes += 1
                processes[f.pid] = processes[f.ppid].map { Process(copying: $0, changed: changes) } ?? Process(changed: changes)
                lastSampled = (-2, nil)
            }
        case .exit:
            guard let e = TaskRecord(record: record.bytes), e.pid == e.tid else { return }
            exited.insert(e.pid)
        default:
            break
        }
    }

    public func applyMmap(_ m: MmapRecord) {
        let isKernel = m.pid == -1 || m.cpuMode == .kernel
        // `[kernel.kallsyms]_text` and modules: every kernel-half address is symbolized through kallsyms by its
        // absolute address (see `resolve`), so their table only says where each region is.
        if isKernel {
            let isImage = m.filename.hasPrefix("[kernel.kallsyms]")
            if isImage { kernelTextStart = m.start }
            let dso = isImage ? kernelDso : dsoIndex(path: m.filename, kernel: true)
            kernelMaps.insert(Mapping(start: m.start, end: m.start &+ m.length, pageOffset: m.pageOffset, dso: dso))
            changes += 1
            kernelChanged = changes
            return
        }
        guard m.isExecutable else { return }
        // Anonymous executable memory is JIT code, symbolized through its process's perf map, as perf does.
        let anonymous = m.filename == "//anon" || m.filename.hasPrefix("[anon") || m.filename.hasPrefix("/memfd:")
        let dso = dsoIndex(path: anonymous ? "/tmp/perf-\(m.pid).map" : m.filename)
        let p = process(m.pid)
        // Anonymous and special regions are located by address, not file offset.
        let pageOffset = dsos[dso].hasFileOffsets ? m.pageOffset : m.start
        p.maps.insert(Mapping(start: m.start, end: m.start &+ m.length, pageOffset: pageOffset, dso: dso))
        changes += 1
        p.changed = changes
        if p.exeDso == nil, dsos[dso].hasFileOffsets, !dsos[dso].isVDSO { p.exeDso = dso }
    }

    /// What a source other than records (a BPF program's map) says of a thread: its process and name.
    public func learn(tid: Int32, pid: Int32, comm: String) {
        threads[tid] = Thread(pid: pid, comm: comm)
        namesChanged += 1
    }

    /// What the recording says of a thread: its process and name.
    public func thread(_ tid: Int32) -> Thread? { threads[tid] }

    /// Whether process `pid` is `root` or was forked, directly or not, from it during the recording.
    public func isDescendant(_ pid: Int32, of root: Int32) -> Bool {
        var current = pid
        for _ in 0..<64 {
            if current == root { return true }
            guard let parent = parents[current] else { return false }
            current = parent
        }
        return false
    }

    /// A process's name: its main thread's, else the name of `tid`, one of its threads.
    public func processName(_ pid: Int32, thread tid: Int32) -> String {
        threads[pid]?.comm ?? comm(tid: tid)
    }

    /// A thread's name; the idle task is `swapper`, as perf calls it; any other unknown thread `:TID`.
    public func comm(tid: Int32) -> String {
        threads[tid]?.comm ?? (tid == 0 ? "swapper" : ":\(tid)")
    }

    /// Resolves an address sampled in `pid`.
    @inline(__always)
    public func resolve(pid: Int32, address: UInt64) -> Location? {
        if address >= ProcessModel.kernelStart {
            return Location(dso: kernelDso, address: .address(address))
        }
        if lastSampled.pid != pid { lastSampled = (pid, processes[pid].map { Unmanaged.passUnretained($0) }) }
        // Borrowed, not retained: `processes` holds it, and whatever replaces it there resets `lastSampled`.
        guard let m = lastSampled.process?._withUnsafeGuaranteedRef({ p in p.maps.lookup(address) ?? p.beforeExec?.lookup(address) }) else {
            return nil
        }
        let offset = m.fileOffset(of: address)
        return Location(dso: m.dso, address: imageBacked[m.dso] ? .fileOffset(offset) : .address(offset))
    }

    /// The region that covers an address sampled in `pid`, as its MMAP record placed it; anonymous memory has its
    /// start as its offset, since a perf map names JIT code by address.
    public func mapping(pid: Int32, address: UInt64) -> Mapping? {
        if address >= ProcessModel.kernelStart { return kernelMaps.lookup(address) }
        guard let p = processes[pid] else { return nil }
        return p.maps.lookup(address) ?? p.beforeExec?.lookup(address)
    }

    /// The executable regions of a process's address space, by address.
    public func mappings(pid: Int32) -> [Mapping] { processes[pid]?.maps.mappings ?? [] }

    /// The process of consecutive frames and samples is nearly always the last one resolved in.
    @exclusivity(unchecked) private var lastSampled: (pid: Int32, process: Unmanaged<Process>?) = (-2, nil)

    /// The main executable of a process: the first file it mapped executable.
    public func executable(pid: Int32) -> Int? { processes[pid]?.exeDso }

    /// A number that changes when `pid` execs, or comes to be another process's (0 before its first record).
    public func image(pid: Int32) -> UInt64 { processes[pid]?.image ?? 0 }

    /// A number that changes whenever an address in `pid` could come to resolve differently (its maps, or the
    /// kernel's, changed; it forked or exec'd): what a cache of resolved addresses keys on.
    public func version(pid: Int32) -> UInt64 {
        if lastSampled.pid != pid { lastSampled = (pid, processes[pid].map { Unmanaged.passUnretained($0) }) }
        let changed = lastSampled.process?._withUnsafeGuaranteedRef { $0.changed } ?? 0
        return max(changed, kernelChanged)
    }

    private func process(_ pid: Int32) -> Process {
        if let p = processes[pid] { return p }
        changes += 1
        let p = Process(changed: changes)
        processes[pid] = p
        lastSampled = (-2, nil)
        return p
    }
}
