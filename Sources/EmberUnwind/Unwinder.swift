import EmberPerfData
import EmberSession
import EmberSymbols

/// DWARF unwinding of a sample's user stack (`--call-graph dwarf`): from the sampled registers and the copy of the
/// stack, frame by frame through each binary's CFI, as the kernel's frame-pointer walk cannot when code omits
/// frame pointers.
///
/// libdw interprets the CFI (`dwarf_cfi_addrframe`); the stepping is done here, with each PC's rule cached, so that
/// a recording costs one CFI lookup per distinct PC rather than a libdw unwinding session per sample (which is what
/// perf does). Reads outside the stack copy fail, unless the recording kept the rest of the thread's stack
/// (`Sample.stackTail`): then the walk goes on there if the frame it crosses the copy's end in agrees with the
/// copy, each frame it finds accepted only if its return address follows a call (`CallSites`). The walk stops
/// cleanly at an undefined return address (`_start`, `clone`) or at a frame pointer of 0; code without CFI is
/// stepped through its frame pointer, as libdw (and perf) do; a walk that stops anywhere else is marked truncated.
public final class Unwinder: StackUnwinder {
    public static let maxDepth = 256
    private let model: ProcessModel
    private let symbolizer: Symbolizer
    private var cfi: [Int: CallFrameInfo?] = [:]
    /// Rules by location (`Location.cacheKey` of the PC looked up): an index into `rules`, or -1 for none.
    private var ruleIndex = IntegerMap(capacity: 4096)
    private var rules: [UnwindRule] = []
    /// The return addresses uretprobe trampolines stand for, in a recording with return probes.
    public var uprobeReturns: UprobeReturns?
    public private(set) var tailUse = StackTailUse.none
    private let callSites: CallSites

    public init(model: ProcessModel, symbolizer: Symbolizer) {
        self.model = model
        self.symbolizer = symbolizer
        callSites = CallSites(model: model, symbolizer: symbolizer)
    }

    public func unwind(_ sample: Sample, into frames: inout [FrameAddress]) -> UnwindEnd? {
        // ABI 2 is PERF_SAMPLE_REGS_ABI_64; a 32-bit process's registers number differently.
        guard sample.userRegsABI == 2, !sample.userRegs.isEmpty else { return nil }
        var regs = RegisterFile()
        for (reg, bit) in DwarfRegister.perfBit.enumerated() { regs[reg] = sample.userRegister(perfBit: bit) }
        tailUse = .none
        guard let ip = regs[DwarfRegister.returnAddress], let sp = regs[DwarfRegister.rsp] else { return nil }
        var stack = Stack(base: sp, bytes: sample.userStack)
        if let tail = sample.stackTail, tail.address < stack.copyEnd, tail.top > stack.copyEnd {
            stack.tail = tail
        }
        let start = frames.count
        /// Whether the step from the frame at `frameSP`, running `callee`, to the caller whose return address `ra`
        /// lay below `slotEnd` may stand: within the copy it may; beyond it, each only if `ra` follows a call, and
        /// the first only if the frame was still live when the tail was read: its words in the copy agree with the
        /// tail, or `ra` follows a direct call of its very function. The first step into the tail marks where its
        /// frames begin.
        func accepts(frameSP: UInt64, callee: UInt64, slotEnd: UInt64, ra: UInt64) -> Bool {
            guard let tail = stack.tail, slotEnd > stack.copyEnd else { return true }
            if case .none = tailUse, !agrees(tail, with: stack, from: frameSP, pid: sample.pid),
               !callSites.callsFunction(pid: sample.pid, returnAddress: ra, holding: callee) {
                tailUse = .refused
                return false
            }
            guard callSites.followsCall(pid: sample.pid, returnAddress: ra) else {
                if case .none = tailUse { tailUse = .refused }
                return false
            }
            if case .none = tailUse { tailUse = .used(from: frames.count - start) }
            return true
        }
        var trampolines = 0
        /// A return address, or the one a uretprobe's trampoline stands in for.
        func realReturn(_ ra: UInt64) -> UInt64 {
            guard let returns = uprobeReturns, let location = model.resolve(pid: sample.pid, address: ra),
                  model.dsos[location.dso].path == "[uprobes]",
                  let real = returns.address(tid: sample.tid, time: sample.time, index: trampolines) else { return ra }
            trampolines += 1
            return real
        }
        var pc = FrameAddress.instruction(ip)
        frames.append(pc)
        for _ in 0..<Unwinder.maxDepth {
            guard let index = rule(pid: sample.pid, pc: pc.lookupAddress) else {
                // No CFI: step by the x86-64 frame-pointer convention, as libdw's fallback (and so perf) does. A
                // frame pointer of 0 is the outermost frame: the entry point clears %rbp (ld.so's `_start` has no
                // CFI; the kernel starts a process with every register 0).
                guard let rbp = regs[DwarfRegister.rbp] else { return .truncated }
                if rbp == 0 { return .complete }
                guard let sp = regs[DwarfRegister.rsp], rbp >= sp, let ra = stack.read(rbp &+ 8), let callerRBP = stack.read(rbp) else {
                    return .truncated
                }
                if ra == 0 { return .complete }
                guard accepts(frameSP: sp, callee: pc.lookupAddress, slotEnd: rbp &+ 16, ra: ra) else { return .truncated }
                var callerRegs = RegisterFile()
                callerRegs[DwarfRegister.rbp] = callerRBP
                callerRegs[DwarfRegister.rsp] = rbp &+ 16
                callerRegs[DwarfRegister.returnAddress] = realReturn(ra)
                pc = .returnAddress(callerRegs[DwarfRegister.returnAddress]!)
                frames.append(pc)
                regs = callerRegs
                continue
            }
            let rule = rules[index]
            let cfa: UInt64
            switch rule.cfa {
            case .registerPlus(let reg, let offset):
                guard let base = regs[reg] else { return .truncated }
                cfa = base &+ UInt64(bitPattern: offset)
            case .expression(let ops):
                guard let value = Unwinder.evaluate(ops, regs: regs, cfa: nil, stack: stack)?.value else { return .truncated }
                cfa = value
            }
            var caller = regs
            for reg in 0..<DwarfRegister.count where reg != DwarfRegister.rsp {
                switch rule.registers[reg] {
                case .same: break
                case .undefined: caller[reg] = nil
                case .savedAt(let offset): caller[reg] = stack.read(cfa &+ UInt64(bitPattern: offset))
                case .cfaPlus(let offset): caller[reg] = cfa &+ UInt64(bitPattern: offset)
                case .expression(let ops):
                    let result = Unwinder.evaluate(ops, regs: regs, cfa: cfa, stack: stack)
                    caller[reg] = result.flatMap { $0.isLocation ? stack.read($0.value) : $0.value }
                }
            }
            caller[DwarfRegister.rsp] = cfa
            if case .undefined = rule.registers[DwarfRegister.returnAddress] { return .complete }
            guard let stacked = caller[DwarfRegister.returnAddress] else { return .truncated }
            if stacked == 0 { return .complete }
            guard let oldSP = regs[DwarfRegister.rsp], cfa > oldSP, accepts(frameSP: oldSP, callee: pc.lookupAddress, slotEnd: cfa, ra: stacked) else { return .truncated }
            let ra = realReturn(stacked)
            caller[DwarfRegister.returnAddress] = ra
            pc = FrameAddress(ra, exact: rule.isSignalFrame)
            frames.append(pc)
            regs = caller
        }
        return .truncated
    }

    /// The index of the CFI rule at a process address, through the binary mapped there.
    @inline(__always)
    private func rule(pid: Int32, pc: UInt64) -> Int? {
        guard let location = model.resolve(pid: pid, address: pc), location.dso != model.kernelDso else { return nil }
        let key = location.cacheKey
        if let cached = ruleIndex[key] { return cached < 0 ? nil : Int(cached) }
        var index: Int32 = -1
        if let offset = location.address.fileOffset, let info = callFrameInfo(location.dso), let image = symbolizer.image(for: location.dso),
           let address = image.virtualAddress(ofFileOffset: offset), let rule = info.rule(at: address) {
            index = Int32(rules.count)
            rules.append(rule)
        }
        ruleIndex.insert(index, for: key)
        return index < 0 ? nil : Int(index)
    }

    private func callFrameInfo(_ dso: Int) -> CallFrameInfo? {
        if let cached = cfi[dso] { return cached }
        let d = model.dsos[dso]
        var info: CallFrameInfo?
        if d.isVDSO, let vdso = ElfImage.runningVDSOMemory() {
            info = CallFrameInfo(memory: vdso.base, size: vdso.size)
        } else if d.hasFileOffsets, let image = symbolizer.image(for: dso) {
            info = CallFrameInfo(path: image.path)
        }
        cfi[dso] = info
        return info
    }

    /// Whether the frame that crosses the copy's end (from `frameSP` up) looks still live when the tail was read:
    /// where copy and tail both hold its words, they agree unless neither is a code address (its locals may have
    /// changed since the sample; a frame that returned has had its space taken by others, whose return addresses
    /// and function pointers differ). A live frame whose locals hold changing code addresses fails it.
    private func agrees(_ tail: StackTail, with copy: Stack, from frameSP: UInt64, pid: Int32) -> Bool {
        let end = copy.copyEnd
        var at = max(frameSP, tail.address)
        while at &+ 8 <= end {
            guard let old = copy.read(at), let new = tail.read(at) else { return false }
            if old != new, isCode(old, pid) || isCode(new, pid) { return false }
            at &+= 8
        }
        return true
    }

    private func isCode(_ word: UInt64, _ pid: Int32) -> Bool {
        guard word > 0x1000, let location = model.resolve(pid: pid, address: word) else { return false }
        return location.dso != model.kernelDso
    }

    /// The sampled copy of the stack, starting at the sampled stack pointer, and the rest of the thread's stack as
    /// read later, when it agrees with the copy.
    struct Stack {
        var base: UInt64
        var bytes: UnsafeRawBufferPointer
        var tail: StackTail?

        var copyEnd: UInt64 { base &+ UInt64(bytes.count) }

        init(base: UInt64, bytes: UnsafeRawBufferPointer) {
            self.base = base
            self.bytes = bytes
        }

        @inline(__always)
        func read(_ address: UInt64) -> UInt64? {
            if address >= base, let word = StackTail.word(bytes, address - base) { return word }
            return tail?.read(address)
        }
    }

    private static func binary(_ atom: UInt8, _ a: UInt64, _ b: UInt64) -> UInt64 {
        let sa = Int64(bitPattern: a), sb = Int64(bitPattern: b)
        switch atom {
        case DwarfOp.and: return a & b
        case DwarfOp.mul: return a &* b
        case DwarfOp.or: return a | b
        case DwarfOp.xor: return a ^ b
        case DwarfOp.shl: return b < 64 ? a << b : 0
        case DwarfOp.shr: return b < 64 ? a >> b : 0
        case DwarfOp.shra: return UInt64(bitPattern: b < 64 ? sa >> Int64(b) : (sa < 0 ? -1 : 0))
        case DwarfOp.eq: return sa == sb ? 1 : 0
        case DwarfOp.ge: return sa >= sb ? 1 : 0
        case DwarfOp.gt: return sa > sb ? 1 : 0
        case DwarfOp.le: return sa <= sb ? 1 : 0
        case DwarfOp.lt: return sa < sb ? 1 : 0
        default: return sa != sb ? 1 : 0
        }
    }

    /// Evaluates the DWARF expressions CFI uses: a value, or (`isLocation`) an address holding the value.
    static func evaluate(_ ops: [UnwindRule.Op], regs: RegisterFile, cfa: UInt64?, stack: Stack) -> (value: UInt64, isLocation: Bool)? {
        var values: [UInt64] = []
        values.reserveCapacity(4)
        var isLocation = true
        func register(_ n: UInt64) -> UInt64? { n < UInt64(DwarfRegister.count) ? regs[Int(n)] : nil }
        for op in ops {
            switch op.atom {
            case DwarfOp.callFrameCFA:
                guard let cfa else { return nil }
                values.append(cfa)
            case DwarfOp.plusUconst:
                guard !values.isEmpty else { return nil }
                values[values.count - 1] &+= op.number
            case DwarfOp.plus, DwarfOp.minus:
                guard values.count >= 2 else { return nil }
                let b = values.removeLast(), a = values.removeLast()
                values.append(op.atom == DwarfOp.plus ? a &+ b : a &- b)
            case DwarfOp.constants:
                values.append(op.number)
            case DwarfOp.literals:
                values.append(UInt64(op.atom - DwarfOp.literals.lowerBound))
            case DwarfOp.baseRegisters:
                guard let r = register(UInt64(op.atom - DwarfOp.baseRegisters.lowerBound)) else { return nil }
                values.append(r &+ op.number)
            case DwarfOp.bregx:
                guard let r = register(op.number) else { return nil }
                values.append(r &+ op.number2)
            case DwarfOp.registers:  // the value is in the register
                guard let r = register(UInt64(op.atom - DwarfOp.registers.lowerBound)) else { return nil }
                values.append(r)
                isLocation = false
            case DwarfOp.regx:
                guard let r = register(op.number) else { return nil }
                values.append(r)
                isLocation = false
            case DwarfOp.deref:
                guard let a = values.popLast(), let v = stack.read(a) else { return nil }
                values.append(v)
            case DwarfOp.stackValue:
                isLocation = false
            case DwarfOp.dup:
                guard let top = values.last else { return nil }
                values.append(top)
            case DwarfOp.drop:
                guard values.popLast() != nil else { return nil }
            case DwarfOp.swap:
                guard values.count >= 2 else { return nil }
                values.swapAt(values.count - 1, values.count - 2)
            case DwarfOp.neg:
                guard let a = values.popLast() else { return nil }
                values.append(0 &- a)
            case DwarfOp.and, DwarfOp.mul, DwarfOp.or, DwarfOp.xor, DwarfOp.shl, DwarfOp.shr, DwarfOp.shra, DwarfOp.comparisons:
                // Binary operations, as the PLT's CFA uses.
                guard values.count >= 2 else { return nil }
                let b = values.removeLast(), a = values.removeLast()
                values.append(Unwinder.binary(op.atom, a, b))
            default:
                return nil
            }
        }
        guard let result = values.last else { return nil }
        return (result, isLocation)
    }
}

/// The DWARF expression opcodes CFI uses (DWARF 5, section 7.7.1), by the names of `DW_OP_*`.
enum DwarfOp {
    static let deref: UInt8 = 0x06
    /// `DW_OP_const1u` ... `DW_OP_consts`: the operand is the value.
    static let constants: ClosedRange<UInt8> = 0x08...0x11
    static let dup: UInt8 = 0x12
    static let drop: UInt8 = 0x13
    static let swap: UInt8 = 0x16
    static let and: UInt8 = 0x1a
    static let minus: UInt8 = 0x1c
    static let mul: UInt8 = 0x1e
    static let neg: UInt8 = 0x1f
    static let or: UInt8 = 0x21
    static let plus: UInt8 = 0x22
    static let plusUconst: UInt8 = 0x23
    static let shl: UInt8 = 0x24
    static let shr: UInt8 = 0x25
    static let shra: UInt8 = 0x26
    static let xor: UInt8 = 0x27
    static let eq: UInt8 = 0x29
    static let ge: UInt8 = 0x2a
    static let gt: UInt8 = 0x2b
    static let le: UInt8 = 0x2c
    static let lt: UInt8 = 0x2d
    /// `DW_OP_eq` ... `DW_OP_ne`.
    static let comparisons: ClosedRange<UInt8> = 0x29...0x2e
    /// `DW_OP_lit0` ... `DW_OP_lit31`: the value is the opcode's offset from lit0.
    static let literals: ClosedRange<UInt8> = 0x30...0x4f
    /// `DW_OP_reg0` ... `DW_OP_reg31`: the value is in the register.
    static let registers: ClosedRange<UInt8> = 0x50...0x6f
    /// `DW_OP_breg0` ... `DW_OP_breg31`: the register plus the operand.
    static let baseRegisters: ClosedRange<UInt8> = 0x70...0x8f
    static let regx: UInt8 = 0x90
    static let bregx: UInt8 = 0x92
    static let callFrameCFA: UInt8 = 0x9c
    static let stackValue: UInt8 = 0x9f
}
