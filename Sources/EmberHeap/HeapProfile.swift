import EmberPerfData
import EmberPprof
import EmberReplay
import EmberStacks

/// What a heap profile weighs each sampled allocation's stack by.
public enum HeapMode: String, CaseIterable, Sendable {
    /// Bytes allocated over the recording.
    case alloc
    /// Bytes still allocated when the recording ended.
    case inuse
    /// Bytes still allocated when their process exited: never freed.
    case leaks

    public var title: String {
        switch self {
        case .alloc: return "Allocated bytes"
        case .inuse: return "Bytes in use"
        case .leaks: return "Leaked bytes"
        }
    }

    /// What the mode's weights are, for a subtitle.
    public var explanation: String {
        switch self {
        case .alloc: return "bytes allocated during the recording, by the stack that allocated them"
        case .inuse: return "bytes still allocated when the recording ended, by the stack that allocated them"
        case .leaks: return "bytes still allocated when their process exited, by the stack that allocated them"
        }
    }
}

/// The sampled allocations of a heap recording (`record --heap`), paired with their frees: which were still live at
/// the end and which their process never freed before it exited. Each sample weighs the bytes (and allocations)
/// it stands for, the unbiased estimate the shim computed from its sampling rate.
public struct HeapProfile: Sendable {
    public struct Allocation: Sendable {
        public var size: UInt64
        /// The bytes the sample stands for.
        public var bytes: UInt64
        public var freed = false
        /// False when the shim's table of live samples was full: its free cannot be told.
        public var tracked = true
        /// Its process exited during the recording with it still allocated.
        public var leaked = false

        /// The allocations the sample stands for: its bytes over its size, rounded up or down at random in
        /// proportion (4.5 is 4 or 5 as often), so that sums stay unbiased.
        public var objects: UInt64 = 1
    }

    /// The event whose samples are the allocations.
    public let allocEventName: String
    /// Every sampled allocation, by its sample.
    public let allocations: [SampleKey: Allocation]
    /// Sampled allocations the shim's table of live samples had no room for: counted as allocated, never in use.
    public let untracked: Int
    /// Processes that exited during the recording (leaks are theirs alone).
    public let exitedProcesses: Int

    /// Reads `replay` (a pass of its own) for the shim's two probes.
    public init(_ replay: Replay) throws {
        guard let allocEvent = replay.events.firstIndex(where: { HeapShim.isAllocEvent($0.name) }) else {
            throw HeapError.notHeapRecording(events: replay.events.map(\.name))
        }
        let freeEvent = replay.events.firstIndex { HeapShim.isFreeEvent($0.name) }
        let returnEvent = replay.events.firstIndex { HeapShim.isAllocReturnEvent($0.name) }
        allocEventName = replay.events[allocEvent].name
        let fields = SampleFields(replay: replay)
        var allocations: [SampleKey: Allocation] = [:]
        /// The live sampled allocations of each process, by address.
        var live: [Int32: [UInt64: SampleKey]] = [:]
        /// `--heap-uprobes`: each thread's malloc between its entry and its return.
        var calls: [Int32: SampleKey] = [:]
        var untracked = 0
        var unreadable = 0
        replay.forEachSample(event: nil) { sample, index in
            guard index == allocEvent || index == freeEvent || index == returnEvent else { return }
            if returnEvent != nil {
                // The registers of the System V calling convention: the size (and a freed address) in DI, the
                // address malloc returns in AX.
                guard let register = sample.userRegister(perfBit: index == returnEvent ? 0 : 5) else {
                    unreadable += 1
                    return
                }
                let key = SampleKey(tid: sample.tid, time: sample.time)
                if index == allocEvent {
                    allocations[key] = Allocation(size: register, bytes: register, tracked: false)
                    calls[sample.tid] = key
                } else if index == returnEvent {
                    guard let call = calls.removeValue(forKey: sample.tid), register != 0 else { return }
                    allocations[call]?.tracked = true
                    if let earlier = live[sample.pid, default: [:]].updateValue(call, forKey: register) { allocations[earlier]?.freed = true }
                } else if let freed = live[sample.pid]?.removeValue(forKey: register) {
                    allocations[freed]?.freed = true
                }
                return
            }
            guard let arguments = fields.usdtArguments(sample, event: index), let first = arguments.first, let pointer = first else {
                unreadable += 1
                return
            }
            let address = UInt64(bitPattern: pointer)
            if index == allocEvent {
                guard arguments.count >= 3, let size = arguments[1], let weight = arguments[2] else {
                    unreadable += 1
                    return
                }
                let key = SampleKey(tid: sample.tid, time: sample.time)
                allocations[key] = Allocation(size: UInt64(bitPattern: size), bytes: UInt64(bitPattern: weight), tracked: address != 0,
                                              objects: HeapProfile.objects(bytes: UInt64(bitPattern: weight), size: UInt64(bitPattern: size), key: key))
                if address == 0 {
                    untracked += 1
                } else if let earlier = live[sample.pid, default: [:]].updateValue(key, forKey: address) {
                    // The address handed out again without its free seen (a lost event): the earlier block is gone.
                    allocations[earlier]?.freed = true
                }
            } else if let key = live[sample.pid]?.removeValue(forKey: address) {
                allocations[key]?.freed = true
            }
        }
        let exited = replay.model.exited
        for (pid, blocks) in live where exited.contains(pid) {
            for key in blocks.values { allocations[key]?.leaked = true }
        }
        self.allocations = allocations
        self.untracked = untracked
        self.exitedProcesses = exited.count
        if allocations.isEmpty, unreadable > 0 { throw HeapError.unreadableArguments(count: unreadable) }
    }

    /// Makes `replay`'s stacks end at the call that allocated, without the shim's own frame (`malloc`, `calloc`) or
    /// (`--heap-uprobes`) the probed malloc: its readers then show allocation sites as the leaves (report's Self
    /// column), as Go's heap profiles do.
    public static func hideShimFrames(in replay: Replay) {
        if replay.events.contains(where: { HeapShim.isAllocReturnEvent($0.name) }) {
            replay.resolver.hidesLeaf = { _, depth in depth == 0 }
            return
        }
        let model = replay.model
        let suffix = "/" + HeapShim.fileName
        var shim: Set<Int> = [], other: Set<Int> = []
        replay.resolver.hidesLeaf = { frame, _ in
            guard let dso = frame.location?.dso else { return false }
            if shim.contains(dso) { return true }
            if other.contains(dso) { return false }
            let isShim = model.dsos[dso].path.hasSuffix(suffix)
            if isShim { shim.insert(dso) } else { other.insert(dso) }
            return isShim
        }
    }

    /// `bytes / size` rounded to a neighbouring integer with the probability of its nearness, the draw a hash of
    /// the sample (the same on every reading).
    static func objects(bytes: UInt64, size: UInt64, key: SampleKey) -> UInt64 {
        guard size > 0 else { return 1 }
        let whole = bytes / size, part = Double(bytes % size) / Double(size)
        var h = key.time &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(UInt32(bitPattern: key.tid))
        h ^= h >> 29
        h &*= 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        let draw = Double(h >> 11) / Double(1 << 53)
        return max(1, whole + (draw < part ? 1 : 0))
    }

    /// Whether `allocation` counts in `mode`.
    private static func counts(_ allocation: Allocation, in mode: HeapMode) -> Bool {
        switch mode {
        case .alloc: return true
        case .inuse: return !allocation.freed && allocation.tracked
        case .leaks: return allocation.leaked
        }
    }

    /// Each alloc sample's weight in `mode`: its bytes, or with `objects` the allocations it stands for; nil leaves
    /// it out (freed, for in-use and leaks).
    public func weight(_ mode: HeapMode, objects: Bool = false) -> @Sendable (Sample) -> UInt64? {
        let allocations = self.allocations
        return { sample in
            guard let allocation = allocations[SampleKey(tid: sample.tid, time: sample.time)],
                  HeapProfile.counts(allocation, in: mode) else { return nil }
            return objects ? allocation.objects : allocation.bytes
        }
    }

    /// As a Go heap profile's four sample types (alloc_objects, alloc_space, inuse_objects, inuse_space), which
    /// pprof's viewers, Pyroscope and Parca know: viewers show `mode`'s first (alloc_space, or inuse_space); with
    /// `leaks`, only allocations never freed before their process exited.
    public func pprofValues(_ mode: HeapMode) -> PprofBuilder.Values {
        let allocations = self.allocations
        let leaksOnly = mode == .leaks
        return PprofBuilder.Values(
            types: [("alloc_objects", "count"), ("alloc_space", "bytes"), ("inuse_objects", "count"), ("inuse_space", "bytes")],
            defaultType: mode == .alloc ? "alloc_space" : "inuse_space", periodType: (type: "space", unit: "bytes")
        ) { sample in
            guard let a = allocations[SampleKey(tid: sample.tid, time: sample.time)], !leaksOnly || a.leaked else { return nil }
            let objects = Int64(clamping: a.objects), bytes = Int64(clamping: a.bytes)
            let live = HeapProfile.counts(a, in: .inuse)
            return [objects, bytes, live ? objects : 0, live ? bytes : 0]
        }
    }

    /// A pprof builder for the heap profile of the recording this profile was read from.
    public func pprofBuilder(_ mode: HeapMode) -> PprofBuilder {
        var builder = PprofBuilder()
        builder.eventName = allocEventName
        builder.values = pprofValues(mode)
        return builder
    }

    /// Totals in `mode`: bytes and allocations.
    public func total(_ mode: HeapMode) -> (bytes: UInt64, objects: UInt64) {
        var bytes: UInt64 = 0, objects: UInt64 = 0
        for allocation in allocations.values where HeapProfile.counts(allocation, in: mode) {
            bytes &+= allocation.bytes
            objects &+= allocation.objects
        }
        return (bytes, objects)
    }
}

public enum HeapError: Error, CustomStringConvertible {
    case notHeapRecording(events: [String])
    case unreadableArguments(count: Int)
    case noShim(String)
    case notPreloaded(pid: Int32, shim: String)
    case severalShims([String])
    case wholeMachine

    public var description: String {
        switch self {
        case .notHeapRecording(let events):
            return "the recording has no heap samples (events: \(events.joined(separator: ", "))); record them with 'ember record --heap -- CMD'"
        case .unreadableArguments(let count):
            return "none of the \(count) heap samples' arguments could be read: the recording needs the libember-heap.so it was made with (or an archive of it)"
        case .noShim(let problem):
            return "no heap shim: \(problem)"
        case .notPreloaded(let pid, let shim):
            return "process \(pid) was not started with the heap shim; start it with LD_PRELOAD=\(shim) (EMBER_HEAP_RATE=BYTES sets its rate), or use --heap-uprobes (probes every malloc and free in libc: many times slower allocation)"
        case .severalShims(let paths):
            return "the processes have different heap shims mapped (\(paths.joined(separator: ", "))); record them one shim at a time"
        case .wholeMachine:
            return "--heap follows a command, or -p processes started with the heap shim, not every CPU"
        }
    }
}
