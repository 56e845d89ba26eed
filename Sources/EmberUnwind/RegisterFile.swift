/// The x86-64 registers an unwind tracks (DWARF numbers 0...16), held inline with a validity mask so that
/// stepping a frame allocates nothing.
struct RegisterFile {
    private var values: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                         UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    private var valid: UInt32 = 0

    @inline(__always)
    subscript(_ register: Int) -> UInt64? {
        get {
            guard register >= 0, register < DwarfRegister.count, valid & (1 << UInt32(register)) != 0 else { return nil }
            return withUnsafeBytes(of: values) { $0.load(fromByteOffset: register * 8, as: UInt64.self) }
        }
        set {
            guard register >= 0, register < DwarfRegister.count else { return }
            if let newValue {
                withUnsafeMutableBytes(of: &values) { $0.storeBytes(of: newValue, toByteOffset: register * 8, as: UInt64.self) }
                valid |= 1 << UInt32(register)
            } else {
                valid &= ~(1 << UInt32(register))
            }
        }
    }
}
