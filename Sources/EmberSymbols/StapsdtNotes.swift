import CElfUtils
#if canImport(Glibc)
import Glibc
#endif

/// A USDT probe from a binary's `.note.stapsdt` section.
public struct USDTProbe: Equatable, Sendable {
    public var provider: String
    public var name: String
    /// The probe site and its semaphore as virtual addresses (semaphore 0: none), prelink-adjusted.
    public var pc: UInt64
    public var semaphore: UInt64
    /// The argument spec, `-4@%edi 8@-16(%rbp) 4@$5`.
    public var arguments: String
}

extension ElfImage {
    /// The USDT probes of `path` (systemtap's note layout: pc, base, semaphore, then provider, name and args).
    public static func usdtProbes(path: String) throws -> [USDTProbe] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SymbolError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard elf_version(UInt32(EV_CURRENT)) != UInt32(EV_NONE), let elf = elf_begin(fd, ELF_C_READ_MMAP, nil) else {
            throw SymbolError.notELF(path: path, reason: "not an ELF file")
        }
        defer { elf_end(elf) }
        guard elf_kind(elf) == ELF_K_ELF else { throw SymbolError.notELF(path: path, reason: "not an ELF file") }
        var namesIndex = 0
        _ = elf_getshdrstrndx(elf, &namesIndex)
        var notes: [OpaquePointer] = []
        var baseAddress: UInt64?
        var scn: OpaquePointer? = nil
        while let s = elf_nextscn(elf, scn) {
            scn = s
            var sh = GElf_Shdr()
            guard gelf_getshdr(s, &sh) != nil, let name = elf_strptr(elf, namesIndex, Int(sh.sh_name)) else { continue }
            if strcmp(name, ".note.stapsdt") == 0 { notes.append(s) }
            if strcmp(name, ".stapsdt.base") == 0 { baseAddress = sh.sh_addr }
        }
        var probes: [USDTProbe] = []
        for section in notes {
            guard let data = elf_getdata(section, nil), let buffer = data.pointee.d_buf else { continue }
            var offset = 0
            var note = GElf_Nhdr()
            var nameOffset = 0, descOffset = 0
            while true {
                let next = gelf_getnote(data, offset, &note, &nameOffset, &descOffset)
                if next == 0 { break }
                defer { offset = next }
                guard note.n_type == 3, note.n_namesz == 8, memcmp(buffer + nameOffset, "stapsdt", 8) == 0,
                      note.n_descsz >= 27 else { continue }
                let desc = UnsafeRawBufferPointer(start: buffer + descOffset, count: Int(note.n_descsz))
                var pc = desc.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
                let base = desc.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                var semaphore = desc.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
                let strings = desc[24...].split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
                guard strings.count >= 2 else { continue }
                // A prelinked file moved its sections: shift by how far .stapsdt.base moved.
                if let baseAddress, baseAddress != base {
                    pc = pc &+ baseAddress &- base
                    if semaphore != 0 { semaphore = semaphore &+ baseAddress &- base }
                }
                probes.append(USDTProbe(provider: strings[0], name: strings[1], pc: pc, semaphore: semaphore,
                                        arguments: strings.count > 2 ? strings[2] : ""))
            }
        }
        return probes
    }
}
