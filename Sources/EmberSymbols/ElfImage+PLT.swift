import CElfUtils
#if canImport(Glibc)
import Glibc
#endif

extension ElfImage {
    /// `name@plt` for each x86-64 PLT entry (`.plt`, `.plt.sec`, `.plt.got`), as perf names them, and an end at the
    /// start of `.plt` so that a zero-sized symbol before it (`_init`) is not stretched over the stubs.
    ///
    /// Every stub jumps through its GOT slot (`ff 25 disp32`, after an `endbr64` and a `bnd` prefix when present);
    /// the dynamic relocation of that slot (`R_X86_64_JUMP_SLOT` in `.rela.plt`, `GLOB_DAT` in `.rela.dyn`) names
    /// the function. Entries without such a jump (the lazy-binding header, IBT's `.plt` trampolines) stay nameless.
    static func pltSymbols(elf: OpaquePointer) -> SymbolTable.Builder {
        var out = SymbolTable.Builder()
        var stubs: [(address: UInt64, entrySize: UInt64, bytes: UnsafeRawBufferPointer)] = []
        var slots: [UInt64: String] = [:]
        forEachSection(ofX86_64: elf) { s, sh, name in
            if Int32(sh.sh_type) == SHT_RELA {
                slotNames(elf: elf, relocations: s, header: sh, into: &slots)
                return
            }
            guard Int32(sh.sh_type) == SHT_PROGBITS, name == ".plt" || name == ".plt.sec" || name == ".plt.got",
                  let data = elf_getdata(s, nil), let base = data.pointee.d_buf else { return }
            if name == ".plt" { out.addBoundary(start: sh.sh_addr) }
            let entrySize = sh.sh_entsize > 0 ? sh.sh_entsize : (name == ".plt.got" ? 8 : 16)
            stubs.append((sh.sh_addr, entrySize, UnsafeRawBufferPointer(start: base, count: data.pointee.d_size)))
        }
        for (address, entrySize, bytes) in stubs where entrySize <= UInt64(bytes.count) {
            // The section's fields are the file's: wrapping addresses are its own nonsense, not a trap.
            let step = Int(entrySize)
            var offset = 0
            while offset <= bytes.count - step {
                let stub = address &+ UInt64(offset)
                if let slot = gotSlot(bytes, at: offset, address: stub), let target = slots[slot] {
                    out.add(start: stub, size: entrySize, name: target + "@plt", binding: .global)
                }
                offset += step
            }
        }
        return out
    }

    /// PLT stubs as perf 6.1 names them: the `.plt` entry after the header of index i after the i-th relocation of
    /// `.rela.plt`, `@plt` alone for a relocation without a symbol (`R_X86_64_IRELATIVE`). Where a binary's
    /// relocations are not in stub order (libc, whose IFUNC stubs are interleaved), perf's names are off by some
    /// entries; `--perf-compat` reproduces them so that a diff with perf shows only real differences.
    static func pltSymbolsAsPerf(elf: OpaquePointer) -> SymbolTable.Builder {
        var out = SymbolTable.Builder()
        var plt: GElf_Shdr?
        var names: [String] = []
        forEachSection(ofX86_64: elf) { s, sh, name in
            switch name {
            case ".plt": plt = sh
            case ".rela.plt": relocations(elf: elf, section: s, header: sh) { _, name in names.append(name) }
            default: break
            }
        }
        guard let plt, plt.sh_entsize > 0 else { return out }
        out.addBoundary(start: plt.sh_addr)
        for (i, name) in names.enumerated() {
            let (offset, overflow) = plt.sh_entsize.multipliedReportingOverflow(by: UInt64(i + 1))
            guard !overflow, offset <= plt.sh_size, plt.sh_size - offset >= plt.sh_entsize else { break }
            out.add(start: plt.sh_addr &+ offset, size: plt.sh_entsize, name: name + "@plt", binding: .global)
        }
        return out
    }

    /// Calls `body` with each section of an x86-64 ELF, its header and its name; with none for another machine.
    private static func forEachSection(ofX86_64 elf: OpaquePointer, _ body: (OpaquePointer, GElf_Shdr, String) -> Void) {
        var ehdr = GElf_Ehdr()
        guard gelf_getehdr(elf, &ehdr) != nil, ehdr.e_machine == UInt16(EM_X86_64) else { return }
        var namesIndex = 0
        _ = elf_getshdrstrndx(elf, &namesIndex)
        var scn: OpaquePointer? = nil
        while let s = elf_nextscn(elf, scn) {
            scn = s
            var sh = GElf_Shdr()
            guard gelf_getshdr(s, &sh) != nil, let name = elf_strptr(elf, namesIndex, Int(sh.sh_name)) else { continue }
            body(s, sh, String(cString: name))
        }
    }

    /// The GOT slot an entry's `jmp *disp32(%rip)` reads, or nil when the entry does not start with one.
    private static func gotSlot(_ bytes: UnsafeRawBufferPointer, at start: Int, address: UInt64) -> UInt64? {
        var i = start
        if i + 4 <= bytes.count, bytes[i] == 0xf3, bytes[i + 1] == 0x0f, bytes[i + 2] == 0x1e, bytes[i + 3] == 0xfa { i += 4 }
        if i < bytes.count, bytes[i] == 0xf2 { i += 1 }
        guard i + 6 <= bytes.count, bytes[i] == 0xff, bytes[i + 1] == 0x25 else { return nil }
        let displacement = Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: i + 2, as: Int32.self))
        let next = address &+ UInt64(i + 6 - start)
        return next &+ UInt64(bitPattern: Int64(displacement))
    }

    /// The symbol each relocation of a `SHT_RELA` section fills in, by the address it writes (its GOT slot).
    private static func slotNames(elf: OpaquePointer, relocations section: OpaquePointer, header: GElf_Shdr, into slots: inout [UInt64: String]) {
        relocations(elf: elf, section: section, header: header) { slot, name in
            if !name.isEmpty { slots[slot] = name }
        }
    }

    /// Each relocation of a `SHT_RELA` section against `.dynsym`, in order: the address it writes and the name of
    /// its symbol ("" for one without a symbol).
    private static func relocations(elf: OpaquePointer, section relocations: OpaquePointer, header: GElf_Shdr, _ body: (UInt64, String) -> Void) {
        guard header.sh_entsize > 0, let data = elf_getdata(relocations, nil),
              let symbols = elf_getscn(elf, Int(header.sh_link)) else { return }
        var symbolHeader = GElf_Shdr()
        guard gelf_getshdr(symbols, &symbolHeader) != nil, Int32(symbolHeader.sh_type) == SHT_DYNSYM,
              let symbolData = elf_getdata(symbols, nil) else { return }
        for i in 0..<Int(header.sh_size / header.sh_entsize) {
            var rela = GElf_Rela()
            guard gelf_getrela(data, Int32(i), &rela) != nil else { continue }
            let index = Int32(truncatingIfNeeded: rela.r_info >> 32)
            var sym = GElf_Sym()
            guard index > 0, gelf_getsym(symbolData, index, &sym) != nil,
                  let name = elf_strptr(elf, Int(symbolHeader.sh_link), Int(sym.st_name)) else {
                body(rela.r_offset, "")
                continue
            }
            body(rela.r_offset, String(cString: name))
        }
    }
}
