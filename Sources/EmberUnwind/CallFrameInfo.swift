import CElfUtils
import EmberSymbols
#if canImport(Glibc)
import Glibc
#endif

/// The call-frame information (`.eh_frame`, else `.debug_frame`) of one binary, read through libdw, with the
/// rule for each PC asked about cached.
final class CallFrameInfo {
    private let elf: OpaquePointer
    private let fd: Int32
    private let ehFrame: OpaquePointer?
    private var dwarf: OpaquePointer?
    private var debugFrame: OpaquePointer?
    /// `.debug_frame` was looked for (once: most binaries have none).
    private var triedDebugFrame = false

    /// The vDSO image is read from this process's memory, which stays mapped.
    private let ownsFile: Bool

    init?(path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        guard let elf = elf_begin(fd, ELF_C_READ_MMAP, nil) else {
            close(fd)
            return nil
        }
        self.fd = fd
        self.elf = elf
        ownsFile = true
        ehFrame = dwarf_getcfi_elf(elf)
    }

    /// CFI of an ELF image in memory (the vDSO).
    init?(memory: UnsafeMutableRawPointer, size: Int) {
        guard let elf = elf_memory(memory.assumingMemoryBound(to: CChar.self), size) else { return nil }
        self.elf = elf
        fd = -1
        ownsFile = false
        ehFrame = dwarf_getcfi_elf(elf)
    }

    deinit {
        if let ehFrame { dwarf_cfi_end(ehFrame) }
        if let dwarf { dwarf_end(dwarf) }
        elf_end(elf)
        if ownsFile { close(fd) }
    }

    /// The rule at a virtual address of the binary; nil when no CFI covers it. (The unwinder caches the answer.)
    func rule(at address: UInt64) -> UnwindRule? {
        var rule = ehFrame.flatMap { CallFrameInfo.rule(cfi: $0, address: address) }
        if rule == nil {
            if !triedDebugFrame {
                triedDebugFrame = true
                if let d = dwarf_begin_elf(elf, DWARF_C_READ, nil) {
                    dwarf = d
                    debugFrame = dwarf_getcfi(d)
                }
            }
            rule = debugFrame.flatMap { CallFrameInfo.rule(cfi: $0, address: address) }
        }
        return rule
    }

    private static func rule(cfi: OpaquePointer, address: UInt64) -> UnwindRule? {
        var frame: OpaquePointer? = nil
        guard dwarf_cfi_addrframe(cfi, address, &frame) == 0, let frame else { return nil }
        defer { free(UnsafeMutableRawPointer(frame)) }
        var signal = false
        guard dwarf_frame_info(frame, nil, nil, &signal) >= 0 else { return nil }
        var ops: UnsafeMutablePointer<Dwarf_Op>? = nil
        var count = 0
        guard dwarf_frame_cfa(frame, &ops, &count) == 0, count > 0, let ops else { return nil }
        let cfa = copy(ops, count)
        var registers: [[UnwindRule.Op]?] = []
        var same: [Bool] = []
        let scratch = UnsafeMutablePointer<Dwarf_Op>.allocate(capacity: 3)
        defer { scratch.deallocate() }
        for reg in 0..<DwarfRegister.count {
            var regOps: UnsafeMutablePointer<Dwarf_Op>? = nil
            var regCount = 0
            guard dwarf_frame_register(frame, Int32(reg), scratch, &regOps, &regCount) == 0 else {
                registers.append(nil)
                same.append(false)
                continue
            }
            registers.append(regCount == 0 ? nil : copy(regOps!, regCount))
            same.append(regCount == 0 && regOps == nil)
        }
        return UnwindRule(cfa: cfa, registers: registers, sameValue: same, isSignalFrame: signal)
    }

    private static func copy(_ ops: UnsafeMutablePointer<Dwarf_Op>, _ count: Int) -> [UnwindRule.Op] {
        (0..<count).map { UnwindRule.Op(atom: ops[$0].atom, number: ops[$0].number, number2: ops[$0].number2) }
    }
}
