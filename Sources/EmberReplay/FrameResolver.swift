import EmberPerfData
import EmberSession
import EmberSymbols
import EmberUnwind

/// One frame of a sampled stack.
public struct ResolvedFrame {
    /// The address as sampled: an instruction for the leaf of each context, a return address above it.
    public var sampled: FrameAddress
    public var location: ProcessModel.Location?
    /// Its symbol, boxed: the folding paths copy frames by the million, most with no symbol yet, and a frame that
    /// holds a symbol's strings and inline chain inline costs a dozen reference counts a copy (a third of `collapse`).
    public var symbol: Symbolizer.Hit? {
        get { symbolBox?.hit }
        set { symbolBox = newValue.map(SymbolBox.init) }
    }
    private var symbolBox: SymbolBox?
    /// Marks where a DWARF unwind stopped early: the stack goes on beyond it, unknown.
    public var isTruncation = false
    /// Found in the rest of the thread's stack read after the sample (`Sample.stackTail`), not in its copy.
    public var isFromStackTail = false
    /// An awaiting caller from the sample's async context chain (`Sample.asyncChains`), not from its stack.
    public var isAsyncCaller = false

    /// The address as sampled, as `script` prints it.
    public var address: UInt64 { sampled.address }

    public init(sampled: FrameAddress, location: ProcessModel.Location?, symbol: Symbolizer.Hit?, isTruncation: Bool = false) {
        self.sampled = sampled
        self.location = location
        self.isTruncation = isTruncation
        self.symbol = symbol
    }
}

private final class SymbolBox {
    let hit: Symbolizer.Hit
    init(_ hit: Symbolizer.Hit) { self.hit = hit }
}

/// Turns a sample's callchain (or its IP) into frames, leaf first; user stacks recorded with
/// `--call-graph dwarf` are unwound from their registers and stack copy.
public final class FrameResolver {
    private let model: ProcessModel
    private let symbolizer: Symbolizer
    private let unwinder: StackUnwinder
    public var perfCompatible: Bool { !callSiteLookups }
    private var userAddresses: [FrameAddress] = []
    private var leafBuffer: [ResolvedFrame] = []
    /// DWARF-unwound stacks that stopped early, and all DWARF-unwound stacks.
    public private(set) var truncatedStacks = 0
    public private(set) var unwoundStacks = 0
    /// DWARF-unwound stacks that went on past their copy into the thread's stack tail, those of them that reached
    /// their root there, and those whose tail was refused (it disagreed with the copy, or its first frame did not
    /// follow a call).
    public private(set) var tailExtendedStacks = 0
    public private(set) var tailCompletedStacks = 0
    public private(set) var tailRefusedStacks = 0
    /// Stacks whose awaiting async callers were put in place of their executor frames, and stacks with an async
    /// frame and chains of which none validated.
    public private(set) var asyncStacks = 0
    public private(set) var asyncChainsRefused = 0
    private var async: AsyncStacks
    /// Frame-pointer stacks recorded with the user registers and a stack copy (`-g`), and those whose leaf's callers
    /// were put back through CFI.
    public private(set) var repairableStacks = 0
    public private(set) var repairedStacks = 0
    /// A return address points after its call; symbols are looked up at the call (the address before it), unless
    /// matching perf, which looks up the return address itself (and so can name the function after the call).
    private let callSiteLookups: Bool

    /// `unwinder` walks DWARF user stacks; `walks`: an archive's unwinds to replay instead of unwinding, or
    /// (`capturing`) to fill while unwinding.
    init(model: ProcessModel, symbolizer: Symbolizer, unwinder live: StackUnwinder, walks: (UnwindArchive, capturing: Bool)? = nil) {
        self.model = model
        self.symbolizer = symbolizer
        switch walks {
        case (let archive, true)?: unwinder = CapturingUnwinder(live, into: archive)
        case (let archive, false)?: unwinder = ArchivedUnwinder(archive)
        case nil: unwinder = live
        }
        callSiteLookups = !symbolizer.options.perfCompatible
        async = AsyncStacks(model: model, symbolizer: symbolizer)
    }

    /// At most this many frames of each stack, the innermost (`--max-stack`, as perf parses call chains).
    public var maxStack: Int?

    /// Leaf frames to leave out while a caller remains (given each frame and its depth, 0 the leaf): a heap
    /// sample's frames in the allocator shim, so that its stack ends at the call that allocated.
    public var hidesLeaf: ((ResolvedFrame, Int) -> Bool)?

    /// Fills `frames` (cleared first) with the sample's frames, leaf first. Without `symbolize`, frames carry only
    /// their locations, for callers that cache per location and symbolize on a miss with `symbolize(_:)`.
    public func frames(of sample: Sample, into frames: inout [ResolvedFrame], symbolize: Bool = true) {
        collect(sample, into: &frames, symbolize: symbolize)
        if let hidesLeaf {
            var n = 0
            while n < frames.count - 1, hidesLeaf(frames[n], n) { n += 1 }
            if n > 0 { frames.removeFirst(n) }
        }
        if let maxStack, frames.count > maxStack { frames.removeLast(frames.count - maxStack) }
    }

    private func collect(_ sample: Sample, into frames: inout [ResolvedFrame], symbolize: Bool) {
        frames.removeAll(keepingCapacity: true)
        if sample.unwindsUserStack, !sample.userStack.isEmpty {
            unwound(sample, into: &frames, symbolize: symbolize)
            return
        }
        let n = sample.callchainCount
        guard n > 0 else {
            frames.append(resolve(.instruction(sample.ip), pid: sample.pid, symbolize: symbolize))
            return
        }
        var nextIsIP = true, inUser = false
        var userStart: Int?
        for i in 0..<n {
            let entry = sample.callchainEntry(i)
            if entry >= CallchainContext.max {
                // perf discards a whole chain with a marker it does not know (a -1 entry, say); Ember keeps the
                // frames it can read, unless matching perf.
                if !callSiteLookups, !CallchainContext.known.contains(entry) {
                    frames.removeAll(keepingCapacity: true)
                    return
                }
                nextIsIP = true
                inUser = entry == CallchainContext.user
                continue
            }
            if inUser, userStart == nil { userStart = frames.count }
            // A kernel address among user frames is garbage from a broken frame-pointer chain, not kernel code.
            if inUser, entry >= ProcessModel.kernelStart {
                frames.append(ResolvedFrame(sampled: FrameAddress(entry, exact: nextIsIP), location: nil, symbol: nil))
            } else {
                frames.append(resolve(FrameAddress(entry, exact: nextIsIP), pid: sample.pid, symbolize: symbolize))
            }
            nextIsIP = false
        }
        if let userStart, !sample.userStack.isEmpty, callSiteLookups { repairLeaf(sample, userStart: userStart, into: &frames, symbolize: symbolize) }
        if let userStart, let chains = sample.asyncChains {
            _ = spliceAsyncCallers(sample, chains, from: userStart, into: &frames, symbolize: symbolize)
        }
    }

    /// A frame-pointer chain misses the caller of every function that keeps no frame pointer (libc's and the vDSO's,
    /// a function in its prologue): its return address is on the stack, not in a frame record. With the user
    /// registers and a small stack copy (`-g`), the innermost frames come from CFI as far as the copy reaches, and
    /// the kernel's chain goes on from the last of them it has too; the kernel's frames before that must all be
    /// among them, in order (the chain is a part of the true stack), or the chain is kept as it was. Frames CFI
    /// found past the last the kernel has (the copy ended before the next it has) go before the kernel's rest: the
    /// caller of a function without a frame pointer that the copy reached, and its chain skipped (C++'s operator new
    /// under the heap shim's probe).
    private func repairLeaf(_ sample: Sample, userStart: Int, into frames: inout [ResolvedFrame], symbolize: Bool) {
        repairableStacks += 1
        userAddresses.removeAll(keepingCapacity: true)
        _ = unwinder.unwind(sample, into: &userAddresses)
        guard userAddresses.count > 1, userAddresses[0].address == frames[userStart].address else { return }
        // The last unwound frame the kernel's chain has, and where; each kernel frame before it must be unwound too.
        var splice: (unwound: Int, kernel: Int)?
        var next = 1
        for k in (userStart + 1)..<frames.count {
            guard let u = userAddresses[next...].firstIndex(where: { $0.address == frames[k].sampled.address }) else { break }
            splice = (u, k)
            next = u + 1
            if next == userAddresses.count { break }
        }
        guard let splice, userAddresses.count - 1 > splice.kernel - userStart else { return }
        // The kernel's rest follows CFI's frames; where it has one of those past the last shared frame, from after it
        // (what it had between was not on the stack CFI walked).
        var rest = splice.kernel + 1
        if splice.unwound + 1 < userAddresses.count {
            let past = userAddresses[(splice.unwound + 1)...]
            if let k = frames[rest...].lastIndex(where: { frame in past.contains { $0.address == frame.sampled.address } }) { rest = k + 1 }
        }
        leafBuffer.removeAll(keepingCapacity: true)
        for address in userAddresses { leafBuffer.append(resolve(address, pid: sample.pid, symbolize: symbolize)) }
        frames.replaceSubrange(userStart..<rest, with: leafBuffer)
        repairedStacks += 1
    }

    /// Kernel frames from the callchain, then the user stack unwound through CFI.
    private func unwound(_ sample: Sample, into frames: inout [ResolvedFrame], symbolize: Bool) {
        var inKernel = false, nextIsIP = true
        for i in 0..<sample.callchainCount {
            let entry = sample.callchainEntry(i)
            if entry >= CallchainContext.max {
                inKernel = entry == CallchainContext.kernel
                nextIsIP = true
                continue
            }
            if inKernel {
                frames.append(resolve(FrameAddress(entry, exact: nextIsIP), pid: sample.pid, symbolize: symbolize))
                nextIsIP = false
            }
        }
        userAddresses.removeAll(keepingCapacity: true)
        guard let end = unwinder.unwind(sample, into: &userAddresses) else {
            // No usable registers: the IP is all there is (user mode), or nothing (kernel thread).
            if sample.cpuMode == .user { frames.append(resolve(.instruction(sample.ip), pid: sample.pid, symbolize: symbolize)) }
            return
        }
        unwoundStacks += 1
        let firstUser = frames.count
        for address in userAddresses {
            // perf's DWARF unwinders report a caller's frame at the call (the return address less one), and
            // show that address.
            if !callSiteLookups, address.isReturnAddress, address.address > 0 {
                frames.append(resolve(.instruction(address.lookupAddress), pid: sample.pid, symbolize: symbolize))
            } else {
                frames.append(resolve(address, pid: sample.pid, symbolize: symbolize))
            }
        }
        switch unwinder.tailUse {
        case .used(let from):
            tailExtendedStacks += 1
            if end == .complete { tailCompletedStacks += 1 }
            for i in (firstUser + from)..<frames.count { frames[i].isFromStackTail = true }
        case .refused:
            tailRefusedStacks += 1
        case .none:
            break
        }
        if let chains = sample.asyncChains, spliceAsyncCallers(sample, chains, from: firstUser, into: &frames, symbolize: symbolize) {
            return
        }
        if end == .truncated {
            truncatedStacks += 1
            frames.append(ResolvedFrame(sampled: .instruction(0), location: nil, symbol: nil, isTruncation: true))
        }
    }

    /// Puts the awaiting callers of the innermost async frame (from `firstUser` on) in place of the frames above it
    /// (the executor's); false when the stack has no async frame or no chain validates.
    private func spliceAsyncCallers(_ sample: Sample, _ chains: AsyncChains, from firstUser: Int, into frames: inout [ResolvedFrame], symbolize: Bool) -> Bool {
        var innermost: (index: Int, start: UInt64)?
        for i in firstUser..<frames.count {
            guard let location = frames[i].location, let offset = async.offsetInAsyncFunction(location) else { continue }
            innermost = (i, lookupAddress(of: frames[i]) &- offset)
            break
        }
        guard let innermost else { return false }
        guard let callers = async.callers(ofFuncletAt: innermost.start, in: chains, pid: sample.pid) else {
            asyncChainsRefused += 1
            return false
        }
        frames.removeSubrange((innermost.index + 1)...)
        for address in callers {
            // A ResumeParent is a funclet's start, not a return address: looked up as it is.
            var frame = resolve(.instruction(address), pid: sample.pid, symbolize: false)
            frame.isAsyncCaller = true
            // Named once marked: a task's root shows as the task.
            if symbolize { self.symbolize(&frame) }
            frames.append(frame)
        }
        asyncStacks += 1
        return true
    }

    @inline(__always)
    private func resolve(_ address: FrameAddress, pid: Int32, symbolize: Bool) -> ResolvedFrame {
        var frame = ResolvedFrame(sampled: address, location: nil, symbol: nil)
        frame.location = model.resolve(pid: pid, address: lookupAddress(of: frame))
        if symbolize { self.symbolize(&frame) }
        return frame
    }

    /// The address a frame's mapping and symbol are looked up at.
    @inline(__always)
    public func lookupAddress(of frame: ResolvedFrame) -> UInt64 {
        callSiteLookups ? frame.sampled.lookupAddress : frame.sampled.address
    }

    /// Looks up the symbol of a frame resolved without one.
    @inline(__always)
    public func symbolize(_ frame: inout ResolvedFrame) {
        guard let location = frame.location, var symbol = symbolizer.symbol(at: location) else { return }
        // The lookup was at the address before a return address; show the offset of the address itself.
        if frame.sampled.isReturnAddress, callSiteLookups, symbol.offset < .max { symbol.offset += 1 }
        // An async stack's root is its task, not the runtime function that completes it.
        if frame.isAsyncCaller, let root = SwiftAsyncNames.taskRoot(symbol.rawName) { symbol.name = root }
        frame.symbol = symbol
    }

    /// The kind of code a frame is in, for flame graph colours.
    public func kind(of frame: ResolvedFrame, pid: Int32) -> FrameKind {
        guard let location = frame.location else { return .unknown }
        if location.dso == model.kernelDso { return .kernel }
        if location.dso == model.executable(pid: pid) { return .application }
        let dso = model.dsos[location.dso]
        return dso.isFile || dso.isVDSO ? .library : .unknown
    }
}
