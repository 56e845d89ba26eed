import CElfUtils
#if canImport(Glibc)
import Glibc
#endif

extension ElfImage {
    /// A function symbol by one of its names, as a probe asks for it.
    public struct NamedFunction: Sendable, Equatable {
        /// The name without a symbol version (`memcpy` for `memcpy@@GLIBC_2.14`).
        public var name: String
        /// The version as written (`@@GLIBC_2.14`, `@GLIBC_2.2.5`), empty when the symbol has none.
        public var version: String
        public var address: UInt64
        /// Whether this is the version a program links against today: `@@` or none, not a hidden `@` one.
        public var isDefaultVersion: Bool
    }

    /// Every name of every function in `path`'s `.symtab` and `.dynsym`: aliases (`free` and `cfree`, `open` and
    /// `open64`), weak and global names alike, each versioned name under its base name. The symbol table keeps
    /// one name per address for symbolizing; probes need them all.
    public static func functionNames(path: String) throws -> [NamedFunction] {
        let handle = try ElfHandle(path: path)
        return withExtendedLifetime(handle) { names(in: handle.elf) }
    }

    private static func names(in elf: OpaquePointer) -> [NamedFunction] {
        // .gnu.version holds a u16 per .dynsym entry; bit 15 marks a hidden (non-default) version.
        var versions: UnsafeBufferPointer<UInt16>?
        var tables: [(OpaquePointer, GElf_Shdr)] = []
        var scn: OpaquePointer? = nil
        while let s = elf_nextscn(elf, scn) {
            scn = s
            var sh = GElf_Shdr()
            guard gelf_getshdr(s, &sh) != nil else { continue }
            switch sh.sh_type {
            case UInt32(SHT_SYMTAB), UInt32(SHT_DYNSYM): tables.append((s, sh))
            case UInt32(SHT_GNU_versym):
                if let data = elf_getdata(s, nil), let bytes = data.pointee.d_buf {
                    versions = UnsafeBufferPointer(start: bytes.assumingMemoryBound(to: UInt16.self), count: Int(data.pointee.d_size) / 2)
                }
            default: break
            }
        }
        var out: [NamedFunction] = []
        for (section, header) in tables {
            guard header.sh_entsize > 0, let data = elf_getdata(section, nil) else { continue }
            let isDynamic = header.sh_type == UInt32(SHT_DYNSYM)
            // The data libelf read bounds the count, not the header's size (which a corrupt file may inflate).
            let count = min(Int(header.sh_size / header.sh_entsize), Int(data.pointee.d_size) / Int(header.sh_entsize))
            for i in 0..<min(count, Int(Int32.max)) {
                var sym = GElf_Sym()
                guard gelf_getsym(data, Int32(i), &sym) != nil else { continue }
                let type = Int32(sym.st_info & 0xf)
                guard type == STT_FUNC || type == STT_GNU_IFUNC, sym.st_shndx != UInt16(SHN_UNDEF), sym.st_value != 0,
                      let raw = elf_strptr(elf, Int(header.sh_link), Int(sym.st_name)) else { continue }
                let text = String(cString: raw)
                let at = text.firstIndex(of: "@")
                let name = at.map { String(text[..<$0]) } ?? text
                let version = at.map { String(text[$0...]) } ?? ""
                var isDefault = !version.hasPrefix("@") || version.hasPrefix("@@")
                if isDynamic, let versions, i < versions.count, versions[i] & 0x8000 != 0 { isDefault = false }
                out.append(NamedFunction(name: name, version: version, address: sym.st_value, isDefaultVersion: isDefault))
            }
        }
        return out
    }
}
