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
    /// Bytes still allocated when their process exited (or exec'd): never freed.
    case leaks
    /// Bytes allocated when each process's sampled heap was largest (as massif's peak snapshot).
    case peak

    public var title: String {
        switch self {
        case .alloc: return "Allocated bytes"
        case .inuse: return "Bytes in use"
        case .leaks: return "Leaked bytes"
        case .peak: return "Bytes in use at the peak"
        }
    }

    /// What the mode's weights are, for a subtitle.
    public var explanation: String {
        switch self {
        case .alloc: return "bytes allocated during the recording, by the stack that allocated them"
        case .inuse: return "bytes still allocated when the recording ended, by the stack that allocated them"
        case .leaks: return "bytes still allocated when their process exited or exec'd, by the stack that allocated them"
        case .peak: return "bytes allocated when each process's heap was largest, by the stack that allocated them"
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
        public var pid: Int32
        public var time: UInt64
        /// When its free was seen (`UInt64.max`: never).
        public var freedAt = UInt64.max
        /// When the image that allocated it went without freeing it (an exec), `UInt64.max` if it did not.
        public var lostAt = UInt64.max
        /// False when the shim's table of live samples was full: its free cannot be told.
        public var tracked = true
        /// Its process exited during the recording with it still allocated.
        public var leaked = false
        /// The allocations the sample stands for: its bytes over its size, rounded up or down at random in
        /// proportion (4.5 is 4 or 5 as often), so that sums stay unbiased.
        public var objects: UInt64 = 1

        public var freed: Bool { freedAt != .max }
    }

    /// The event whose samples are the allocations.
    public let allocEventName: String
    /// Every sampled allocation, by its sample.
    public let allocations: [SampleKey: Allocation]
    /// Sampled allocations the shim's table of live samples had no room for: counted as allocated, never in use.
    public let untracked: Int
    /// Processes that exited during the recording (leaks are theirs alone).
    public let exitedProcesses: Int
    /// When each process's sampled heap was largest.
    public let peaks: [Int32: UInt64]

    /// Allocations paired with their frees in time order, and each process's bytes in use.
    private struct Pairing {
        var allocations: [SampleKey: Allocation] = [:]
        /// The live allocations of each process, by address.
        var live: [Int32: [UInt64: SampleKey]] = [:]
        /// The image each process ran at its last sample (`ProcessModel.image(pid:)`).
        var images: [Int32: UInt64] = [:]
        var inUse: [Int32: UInt64] = [:]
        var peaks: [Int32: (bytes: UInt64, time: UInt64)] = [:]

        /// `key`'s allocation is at `address` from `time` on.
        mutating func place(_ key: SampleKey, at address: UInt64, pid: Int32, time: UInt64) {
            // The address handed out again without its free seen (a lost event): the earlier block is gone.
            if let earlier = live[pid, default: [:]].updateValue(key, forKey: address) { end(earlier, time: time) }
            let bytes = allocations[key]?.bytes ?? 0
            let total = inUse[pid, default: 0] &+ bytes
            inUse[pid] = total
            if total > peaks[pid]?.bytes ?? 0 { peaks[pid] = (total, time) }
        }

        /// `pid` runs `image` at `time`. When it is another than before (the process exec'd, or the pid is another
        /// process's now), the earlier image's live blocks went with it unfreed: leaks, as an exited process's, that
        /// the new image's addresses and peak have nothing to do with.
        mutating func enter(_ pid: Int32, image: UInt64, time: UInt64) {
            guard let earlier = images.updateValue(image, forKey: pid), earlier != image else { return }
            if let blocks = live.removeValue(forKey: pid) {
                for key in blocks.values {
                    allocations[key]?.leaked = true
                    allocations[key]?.lostAt = time
                }
            }
            inUse[pid] = 0
        }

        mutating func free(_ address: UInt64, pid: Int32, time: UInt64) {
            if let key = live[pid]?.removeValue(forKey: address) { end(key, time: time) }
        }

        private mutating func end(_ key: SampleKey, time: UInt64) {
            guard let allocation = allocations[key] else { return }
            allocations[key]?.freedAt = time
            inUse[allocation.pid] = (inUse[allocation.pid] ?? 0) &- min(allocation.bytes, inUse[allocation.pid] ?? 0)
        }
    }

    /// Reads `replay` (a pass of its own) for the shim's two probes, or `--heap-uprobes`' three.
    public init(_ replay: Replay) throws {
        guard let events = HeapEvents(replay.events.map(\.name)) else {
            throw HeapError.notHeapRecording(events: replay.events.map(\.name))
        }
        let allocEvent = events.alloc, freeEvent = events.free, returnEvent = events.allocReturn, reallocEvent = events.realloc
        allocEventName = replay.events[allocEvent].name
        let fields = SampleFields(replay: replay)
        var pairing = Pairing()
        /// `--heap-uprobes`: each thread's malloc between its entry and its return.
        var calls: [Int32: SampleKey] = [:]
        var untracked = 0
        var unreadable = 0
        replay.forEachSample(event: nil) { sample, index in
            guard index == allocEvent || index == freeEvent || index == returnEvent || index == reallocEvent else { return }
            let key = SampleKey(tid: sample.tid, time: sample.time)
            pairing.enter(sample.pid, image: replay.model.image(pid: sample.pid), time: sample.time)
            // Each event's first value: an address (freed, or malloc's result), or --heap-uprobes' malloc size.
            guard let arguments = fields.probeValues(sample, event: index), let first = arguments.first, let raw = first else {
                unreadable += 1
                return
            }
            let value = UInt64(bitPattern: raw)
            if returnEvent != nil {
                if index == allocEvent {
                    pairing.allocations[key] = Allocation(size: value, bytes: value, pid: sample.pid, time: sample.time, tracked: false)
                    calls[sample.tid] = key
                } else if index == returnEvent {
                    guard let call = calls.removeValue(forKey: sample.tid) else { return }
                    // A malloc that failed allocated nothing.
                    guard value != 0 else { return pairing.allocations[call] = nil }
                    pairing.allocations[call]?.tracked = true
                    pairing.place(call, at: value, pid: sample.pid, time: sample.time)
                } else {
                    pairing.free(value, pid: sample.pid, time: sample.time)
                }
                return
            }
            let address = value
            guard index == allocEvent else { return pairing.free(address, pid: sample.pid, time: sample.time) }
            guard arguments.count >= 3, let size = arguments[1].map(UInt64.init(bitPattern:)), let bytes = arguments[2].map(UInt64.init(bitPattern:)) else {
                unreadable += 1
                return
            }
            pairing.allocations[key] = Allocation(size: size, bytes: bytes, pid: sample.pid, time: sample.time, tracked: address != 0,
                                                  objects: HeapProfile.objects(bytes: bytes, size: size, key: key))
            if address == 0 {
                untracked += 1
            } else {
                pairing.place(key, at: address, pid: sample.pid, time: sample.time)
            }
        }
        let exited = replay.model.exited
        for (pid, blocks) in pairing.live where exited.contains(pid) || replay.model.image(pid: pid) != pairing.images[pid] {
            for key in blocks.values { pairing.allocations[key]?.leaked = true }
        }
        allocations = pairing.allocations
        peaks = pairing.peaks.mapValues(\.time)
        self.untracked = untracked
        exitedProcesses = exited.count
        if allocations.isEmpty, unreadable > 0 { throw HeapError.unreadableArguments(count: unreadable) }
    }

    /// Makes `replay`'s stacks end at the call that allocated: without the shim's own frames (`malloc`, `calloc`) or
    /// (`--heap-uprobes`) the probed malloc, nor the language runtimes' allocation functions that called them (C++'s
    /// operator new, Swift's swift_allocObject and swift_slowAlloc, Rust's __rust_alloc): its readers then show
    /// allocation sites as the leaves (report's Self column), as Go's heap profiles leave out mallocgc.
    public static func hideAllocatorFrames(in replay: Replay) {
        let probedMalloc = HeapEvents(replay.events.map(\.name))?.allocReturn != nil
        let model = replay.model, resolver = replay.resolver
        let suffix = "/" + HeapShim.fileName
        var hidden: [UInt64: Bool] = [:]
        resolver.hidesLeaf = { [unowned resolver] frame, depth in
            if probedMalloc, depth == 0 { return true }
            guard let location = frame.location else { return false }
            if let known = hidden[location.cacheKey] { return known }
            var named = frame
            if named.symbol == nil { resolver.symbolize(&named) }
            let hide = model.dsos[location.dso].path.hasSuffix(suffix) || named.symbol.map { isAllocatorFunction($0.rawName) } == true
            hidden[location.cacheKey] = hide
            return hide
        }
    }

    /// The runtime functions through which C++, Swift and Rust code reaches malloc, by their symbols.
    static func isAllocatorFunction(_ symbol: String) -> Bool {
        // operator new and new[], in all their overloads (nothrow, aligned).
        if symbol.hasPrefix("_Znwm") || symbol.hasPrefix("_Znam") { return true }
        return allocatorFunctions.contains(symbol)
    }

    private static let allocatorFunctions: Set<String> = [
        "swift_slowAlloc", "swift_slowAllocTyped", "swift_allocObject", "_swift_allocObject_", "swift_allocBox",
        "__rust_alloc", "__rust_alloc_zeroed", "__rust_realloc", "__rdl_alloc", "__rdl_alloc_zeroed", "__rdl_realloc",
    ]

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
    private static func counts(_ allocation: Allocation, in mode: HeapMode, peaks: [Int32: UInt64]) -> Bool {
        switch mode {
        case .alloc: return true
        case .inuse: return !allocation.freed && allocation.tracked
        case .leaks: return allocation.leaked
        case .peak:
            guard allocation.tracked, let peak = peaks[allocation.pid] else { return false }
            return allocation.time <= peak && min(allocation.freedAt, allocation.lostAt) > peak
        }
    }

    /// Each alloc sample's weight in `mode`: its bytes, or with `objects` the allocations it stands for; nil leaves
    /// it out (freed, for in-use and leaks).
    public func weight(_ mode: HeapMode, objects: Bool = false) -> @Sendable (Sample) -> UInt64? {
        let allocations = self.allocations, peaks = self.peaks
        return { sample in
            guard let allocation = allocations[SampleKey(tid: sample.tid, time: sample.time)],
                  HeapProfile.counts(allocation, in: mode, peaks: peaks) else { return nil }
            return objects ? allocation.objects : allocation.bytes
        }
    }

    /// As a Go heap profile's four sample types (alloc_objects, alloc_space, inuse_objects, inuse_space), which
    /// pprof's viewers, Pyroscope and Parca know: viewers show `mode`'s first (alloc_space, or inuse_space); with
    /// `leaks`, only allocations never freed before their process exited.
    public func pprofValues(_ mode: HeapMode) -> PprofBuilder.Values {
        let allocations = self.allocations, peaks = self.peaks
        let leaksOnly = mode == .leaks
        // The in-use half: at the end, or at each process's peak.
        let live: HeapMode = mode == .peak ? .peak : .inuse
        return PprofBuilder.Values(
            types: [("alloc_objects", "count"), ("alloc_space", "bytes"), ("inuse_objects", "count"), ("inuse_space", "bytes")],
            defaultType: mode == .alloc ? "alloc_space" : "inuse_space", periodType: (type: "space", unit: "bytes")
        ) { sample in
            guard let a = allocations[SampleKey(tid: sample.tid, time: sample.time)], !leaksOnly || a.leaked else { return nil }
            let objects = Int64(clamping: a.objects), bytes = Int64(clamping: a.bytes)
            let inUse = HeapProfile.counts(a, in: live, peaks: peaks)
            return [objects, bytes, inUse ? objects : 0, inUse ? bytes : 0]
        }
    }

    /// A pprof builder for the heap profile of the recording this profile was read from.
    public func pprofBuilder(_ mode: HeapMode) -> PprofBuilder {
        var builder = PprofBuilder()
        builder.eventName = allocEventName
        builder.values = pprofValues(mode)
        return builder
    }
}

public enum HeapError: Error, CustomStringConvertible {
    case notHeapRecording(events: [String])
    case unreadableArguments(count: Int)
    case noShim(String)
    case notPreloaded(pid: Int32, shim: String)
    case severalShims([String])
    case wholeMachine
    case shimReplaced(pid: Int32)

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
            return "a heap profile follows a command, or -p processes started with the heap shim, not every CPU (nor --comm)"
        case .shimReplaced(let pid):
            return "process \(pid) maps a heap shim that was since rebuilt or removed, which cannot be probed; restart it"
        }
    }
}
