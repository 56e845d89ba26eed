/// How to recover one frame's caller at one PC, compiled from libdw's CFI answer into plain numbers so that it can
/// be cached per address and applied to any number of samples without allocating.
///
/// Nearly every rule on x86-64 is "CFA = register + offset" and "register saved at CFA + offset"; anything else
/// keeps its DWARF expression and is evaluated generically.
struct UnwindRule {
    /// A DWARF expression op as libdw hands it over.
    struct Op {
        var atom: UInt8
        var number: UInt64
        var number2: UInt64
    }

    enum Register {
        /// The caller's value is this frame's (`same_value`).
        case same
        /// Not recoverable (`undefined`); for the return address, the end of the stack.
        case undefined
        /// Saved in memory at CFA + offset (`offset(N)`).
        case savedAt(Int64)
        /// The value CFA + offset (`val_offset(N)`).
        case cfaPlus(Int64)
        /// Any other DWARF expression: an address to load from, or a value when it ends in `DW_OP_stack_value`.
        case expression([Op])
    }

    enum CFA {
        case registerPlus(Int, Int64)
        case expression([Op])
    }

    var cfa: CFA
    /// Rules for DWARF registers 0...16 (16 is the return address).
    var registers: [Register]
    /// The frame of a signal handler's trampoline: its return address is an exact PC, not one after a call.
    var isSignalFrame: Bool

    init(cfa ops: [Op], registers: [[Op]?], sameValue: [Bool], isSignalFrame: Bool) {
        if ops.count == 1, (0x70...0x8f).contains(ops[0].atom) {
            cfa = .registerPlus(Int(ops[0].atom - 0x70), Int64(bitPattern: ops[0].number))
        } else if ops.count == 1, ops[0].atom == 0x92 {
            // A register number past Int (a corrupt CFI) names no register: the unwind stops there.
            cfa = .registerPlus(Int(exactly: ops[0].number) ?? -1, Int64(bitPattern: ops[0].number2))
        } else {
            cfa = .expression(ops)
        }
        self.registers = zip(registers, sameValue).map { ops, same in
            guard let ops else { return same ? .same : .undefined }
            if ops.count == 1, ops[0].atom == 0x9c { return .savedAt(0) }
            if ops.count == 2, ops[0].atom == 0x9c, ops[1].atom == 0x23 { return .savedAt(Int64(bitPattern: ops[1].number)) }
            if ops.count == 3, ops[0].atom == 0x9c, ops[1].atom == 0x23, ops[2].atom == 0x9f {
                return .cfaPlus(Int64(bitPattern: ops[1].number))
            }
            return .expression(ops)
        }
        self.isSignalFrame = isSignalFrame
    }
}

/// x86-64 DWARF register numbers (System V psABI) of the registers an unwind tracks.
public enum DwarfRegister {
    public static let rbp = 6, rsp = 7, returnAddress = 16
    public static let count = 17
    /// PERF_REG_X86_* bit for each DWARF register 0...16: AX DX CX BX SI DI BP SP R8...R15 IP.
    public static let perfBit: [Int] = [0, 3, 2, 1, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23, 8]
}
