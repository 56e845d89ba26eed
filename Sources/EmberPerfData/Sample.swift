import EmberKernel

/// A parsed SAMPLE record. Its buffers point into the record's bytes and are valid only as long as they are.
public struct Sample {
    public var misc: UInt16 = 0
    public var id: UInt64 = 0
    public var ip: UInt64 = 0
    public var pid: Int32 = -1
    public var tid: Int32 = -1
    public var time: UInt64 = 0
    public var addr: UInt64 = 0
    public var cpu: UInt32 = 0
    public var period: UInt64 = 1
    /// `nr` u64 entries, context markers included.
    public var callchain = UnsafeRawBufferPointer(start: nil, count: 0)
    /// The `PERF_SAMPLE_RAW` payload (tracepoint fields).
    public var raw = UnsafeRawBufferPointer(start: nil, count: 0)
    /// `PERF_SAMPLE_REGS_USER`: ABI (0 none, 2 64-bit) and the registers of the attr's mask, in bit order.
    public var userRegsABI: UInt64 = 0
    public var userRegs = UnsafeRawBufferPointer(start: nil, count: 0)
    /// Which registers `userRegs` holds (`sample_regs_user`), in increasing bit order.
    public var userRegsMask: UInt64 = 0
    /// `PERF_SAMPLE_STACK_USER`: the valid (`dyn_size`) bytes of the copied user stack.
    public var userStack = UnsafeRawBufferPointer(start: nil, count: 0)
    /// `PERF_SAMPLE_REGS_INTR`: the registers where the event interrupted (for a kprobe, the kernel's at the probed
    /// instruction), as `userRegs` is laid out.
    public var intrRegsABI: UInt64 = 0
    public var intrRegs = UnsafeRawBufferPointer(start: nil, count: 0)
    public var intrRegsMask: UInt64 = 0
    /// Whether `userStack` is a DWARF call graph's copy, to be unwound (see `SampleLayout.unwindsUserStack`).
    public var unwindsUserStack = false
    /// The thread's stack beyond `userStack`, read when the sample was drained (`PerfDataFile.stackTail(of:tid:)`).
    public var stackTail: StackTail?
    /// Swift async context chains taken with the sample (`PerfDataFile.asyncChains(of:)`).
    public var asyncChains: AsyncChains?
    /// Where the record's REGS_USER and STACK_USER parts lie, when it has both (for a writer that keeps them beside
    /// the sample: `PerfDataWriter.append(_:movingToSide:regsMask:)`).
    public var userPart: Range<Int>?

    public init() {}

    public var cpuMode: CPUMode { CPUMode(misc: misc) }

    public var callchainCount: Int { callchain.count / 8 }

    /// A user register by its `PERF_REG_X86_*` bit, when the sample has it: registers are packed in bit order.
    public func userRegister(perfBit: Int) -> UInt64? {
        Sample.register(perfBit, abi: userRegsABI, mask: userRegsMask, in: userRegs)
    }

    /// An interrupted register by its `PERF_REG_X86_*` bit (`PERF_SAMPLE_REGS_INTR`), when the sample has it.
    public func intrRegister(perfBit: Int) -> UInt64? {
        Sample.register(perfBit, abi: intrRegsABI, mask: intrRegsMask, in: intrRegs)
    }

    private static func register(_ perfBit: Int, abi: UInt64, mask: UInt64, in regs: UnsafeRawBufferPointer) -> UInt64? {
        guard abi != 0, mask & (1 << UInt64(perfBit)) != 0 else { return nil }
        let index = (mask & ((1 << UInt64(perfBit)) - 1)).nonzeroBitCount
        guard (index + 1) * 8 <= regs.count else { return nil }
        return UInt64(littleEndian: regs.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self))
    }

    @inline(__always)
    public func callchainEntry(_ i: Int) -> UInt64 {
        UInt64(littleEndian: callchain.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))
    }

    /// Parses a SAMPLE record laid out by `layout`; nil when it is malformed (fields past its end).
    public init?(record r: UnsafeRawBufferPointer, layout: SampleLayout) {
        guard load(record: r, layout: layout) else { return nil }
    }

    /// Parses a SAMPLE record into this value, in place (returning a new one copied it twice per record); false when
    /// it is malformed, and the value is then partly filled.
    public mutating func load(record r: UnsafeRawBufferPointer, layout: SampleLayout) -> Bool {
        self = Sample()
        let t = layout.sampleType
        guard let misc = r.u16(4) else { return false }
        self.misc = misc
        var o = 8
        if t.contains(.identifier) { guard let v = r.u64(o) else { return false }; id = v; o += 8 }
        if t.contains(.ip) { guard let v = r.u64(o) else { return false }; ip = v; o += 8 }
        if t.contains(.tid) {
            guard let p = r.u32(o), let tt = r.u32(o + 4) else { return false }
            pid = Int32(bitPattern: p); tid = Int32(bitPattern: tt); o += 8
        }
        if t.contains(.time) { guard let v = r.u64(o) else { return false }; time = v; o += 8 }
        if t.contains(.addr) { guard let v = r.u64(o) else { return false }; addr = v; o += 8 }
        if t.contains(.id) { guard let v = r.u64(o) else { return false }; id = v; o += 8 }
        if t.contains(.streamID) { o += 8 }
        if t.contains(.cpu) { guard let v = r.u32(o) else { return false }; cpu = v; o += 8 }
        if t.contains(.period) { guard let v = r.u64(o) else { return false }; period = v; o += 8 }
        if t.contains(.read) { guard let n = layout.readSize(in: r, at: o) else { return false }; o += n }
        if t.contains(.callchain) {
            guard let nr = r.u64(o), nr <= UInt64(r.count / 8), let chain = r.slice(o + 8, Int(nr) * 8) else { return false }
            callchain = chain
            o += 8 + Int(nr) * 8
        }
        if t.contains(.raw) {
            guard let size = r.u32(o), let payload = r.slice(o + 4, Int(size)) else { return false }
            raw = payload
            o += 4 + Int(size)
        }
        if t.contains(.branchStack) {
            guard let nr = r.u64(o), nr < 4096 else { return false }
            let hwIndex = layout.branchSampleType & (1 << 17) != 0
            o += 8 + (hwIndex ? 8 : 0) + Int(nr) * 24
        }
        unwindsUserStack = layout.unwindsUserStack
        let userStart = o
        guard loadUser(r, at: &o, regs: t.contains(.regsUser), stack: t.contains(.stackUser), regsMask: layout.regsUserMask) else { return false }
        if t.contains(.regsUser), t.contains(.stackUser) { userPart = userStart..<o }
        for skipped in [SampleType.weight, .dataSource, .transaction] where t.contains(skipped) { o += 8 }
        if t.contains(.regsIntr) {
            guard let (abi, regs) = Sample.registers(r, at: &o, mask: layout.regsIntrMask) else { return false }
            (intrRegsABI, intrRegs, intrRegsMask) = (abi, regs, layout.regsIntrMask)
        }
        return true
    }

    /// The REGS_USER and STACK_USER parts a file kept beside this sample (`PerfDataFile.sideBlock(of:)`); false when
    /// the block is malformed.
    public mutating func loadSideBlock(_ block: UnsafeRawBufferPointer, regsMask: UInt64) -> Bool {
        var o = 0
        return loadUser(block, at: &o, regs: true, stack: true, regsMask: regsMask)
    }

    /// PERF_SAMPLE_REGS_USER and PERF_SAMPLE_STACK_USER at `o`, those present; moves `o` past them.
    private mutating func loadUser(_ r: UnsafeRawBufferPointer, at o: inout Int, regs: Bool, stack: Bool, regsMask: UInt64) -> Bool {
        if regs {
            guard let (abi, values) = Sample.registers(r, at: &o, mask: regsMask) else { return false }
            (userRegsABI, userRegs, userRegsMask) = (abi, values, regsMask)
        }
        if stack {
            guard let size = r.u64(o), size <= UInt64(r.count) else { return false }
            o += 8
            if size > 0 {
                guard let dyn = r.u64(o + Int(size)) else { return false }
                userStack = r.slice(o, Int(min(dyn, size))) ?? userStack
                o += Int(size) + 8
            }
        }
        return true
    }

    /// A register block (`PERF_SAMPLE_REGS_USER` or `_INTR`) at `o`: the ABI word, then, unless it is 0 (none),
    /// the mask's registers; moves `o` past it. Nil when the record is too short.
    private static func registers(_ r: UnsafeRawBufferPointer, at o: inout Int, mask: UInt64) -> (UInt64, UnsafeRawBufferPointer)? {
        guard let abi = r.u64(o) else { return nil }
        o += 8
        guard abi != 0 else { return (0, UnsafeRawBufferPointer(start: nil, count: 0)) }
        let n = mask.nonzeroBitCount * 8
        guard let regs = r.slice(o, n) else { return nil }
        o += n
        return (abi, regs)
    }
}

/// A thread's stack above a DWARF sample's copy, read from the process when its ring was drained
/// (`SampleSideData.Kind.stackTail`): where it starts and its bytes. Taken later than the sample, it is trusted only
/// where it agrees with the copy (the unwinder checks).
public struct StackTail {
    public var address: UInt64
    public var bytes: UnsafeRawBufferPointer
    /// The stack above `bytes`, kept once for several tails of the thread (`SampleSideData.Kind.stackTailPart`).
    public var rest: Rest?

    public struct Rest {
        public var address: UInt64
        public var bytes: UnsafeRawBufferPointer
    }

    public init(address: UInt64, bytes: UnsafeRawBufferPointer) {
        self.address = address
        self.bytes = bytes
    }

    /// Where `bytes` end.
    public var end: UInt64 { address &+ UInt64(bytes.count) }
    /// Where the whole tail ends (the rest's end, when it has one).
    public var top: UInt64 { rest.map { $0.address &+ UInt64($0.bytes.count) } ?? end }

    /// The word at `at`, from `bytes` or the rest above them.
    @inline(__always)
    public func read(_ at: UInt64) -> UInt64? {
        if at >= address, let word = StackTail.word(bytes, at &- address) { return word }
        guard let rest, at >= end, at >= rest.address else { return nil }
        return StackTail.word(rest.bytes, at &- rest.address)
    }

    @inline(__always)
    public static func word(_ bytes: UnsafeRawBufferPointer, _ offset: UInt64) -> UInt64? {
        guard offset <= UInt64(bytes.count), UInt64(bytes.count) - offset >= 8 else { return nil }
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: Int(offset), as: UInt64.self))
    }
}

/// Swift async context chains taken with a sample (`SampleSideData.Kind.asyncChains`): each a list of contexts from
/// a candidate (the async context register, a frame's context slot) to the task's root, with each context's
/// ResumeParent, the resume funclet of its caller.
public struct AsyncChains {
    public var words: UnsafeRawBufferPointer

    public init(words: UnsafeRawBufferPointer) { self.words = words }

    /// One chain, read in place: its contexts' ResumeParents, innermost first.
    public struct Chain {
        let words: UnsafeRawBufferPointer
        let start: Int
        public let count: Int

        /// The ResumeParent of the chain's context `i` (its caller's resume funclet).
        @inline(__always)
        public func resume(_ i: Int) -> UInt64 {
            UInt64(littleEndian: words.loadUnaligned(fromByteOffset: start + (2 * i + 1) * 8, as: UInt64.self))
        }
    }

    /// Each chain, until `body` returns true or the words end (a chain cut short by them ends them).
    public func first(where body: (Chain) -> Bool) {
        var at = 0
        while at + 8 <= words.count {
            let n = Int(UInt64(littleEndian: words.loadUnaligned(fromByteOffset: at, as: UInt64.self)))
            guard n > 0, n <= 64, at + 8 + n * 16 <= words.count else { return }
            if body(Chain(words: words, start: at + 8, count: n)) { return }
            at += 8 + n * 16
        }
    }
}
