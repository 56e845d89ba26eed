import CElfUtils
import CEmberShim
#if canImport(Glibc)
import Glibc
#endif

/// What Ember needs from one ELF file: its loadable segments (to turn file offsets into addresses), its function
/// symbols (.symtab, else .dynsym) and its build-id. Read once through libelf and kept by the symbolizer.
public final class ElfImage {
    public struct Segment: Sendable {
        public var virtualAddress: UInt64
        public var fileOffset: UInt64
        public var fileSize: UInt64
        public var executable: Bool
    }

    public let path: String
    public let segments: [Segment]
    /// `PT_GNU_EH_FRAME`: where `.eh_frame_hdr`, the unwind tables' search index, lies.
    public let ehFrameHeader: Segment?
    public private(set) var symbols: SymbolTable
    public let buildID: [UInt8]?
    /// The `.gnu_debuglink` file name of a stripped binary's debug file.
    public let debugLink: String?
    /// True when the symbols came from a full `.symtab` rather than the exported `.dynsym` alone.
    public let hasFullSymbols: Bool
    /// The PLT stubs, kept to go with a debug file's symbols (its `.plt` has no bytes to read them from).
    private let plt: SymbolTable.Builder

    static let libelfReady: Bool = elf_version(UInt32(EV_CURRENT)) != UInt32(EV_NONE)

    /// Opens and reads `path`; throws when it is missing or not an ELF file. `asPerf` reads symbols as perf 6.1
    /// does: data symbols (`STT_OBJECT`) too, since a broken frame-pointer chain's return address can point into
    /// data and perf names it after the object there, and PLT stubs named in relocation order (see `pltSymbols`).
    public convenience init(path: String, asPerf: Bool = false) throws {
        let handle = try ElfHandle(path: path)
        try self.init(elf: handle.elf, path: path, asPerf: asPerf)
        withExtendedLifetime(handle) {}
    }

    /// The vDSO the kernel maps into this process; the same image it maps into every process it runs, so it
    /// symbolizes `[vdso]` frames of recordings made on this kernel. The mapping lives as long as the process,
    /// and libelf only reads it while this initializer runs.
    public static func runningVDSO() -> ElfImage? {
        guard libelfReady, let vdso = runningVDSOMemory(),
              let elf = elf_memory(vdso.base.assumingMemoryBound(to: CChar.self), vdso.size) else { return nil }
        defer { elf_end(elf) }
        return try? ElfImage(elf: elf, path: "[vdso]")
    }

    /// Where the kernel mapped this process's vDSO, and its size (bounded by its section headers, which come last).
    public static func runningVDSOMemory() -> (base: UnsafeMutableRawPointer, size: Int)? {
        guard libelfReady else { return nil }
        let base = getauxval(UInt(AT_SYSINFO_EHDR))
        guard base != 0, let header = UnsafeMutableRawPointer(bitPattern: UInt(base)) else { return nil }
        let shoff = header.loadUnaligned(fromByteOffset: 0x28, as: UInt64.self)
        let shentsize = header.loadUnaligned(fromByteOffset: 0x3a, as: UInt16.self)
        let shnum = header.loadUnaligned(fromByteOffset: 0x3c, as: UInt16.self)
        let size = Int(shoff) + Int(shentsize) * Int(shnum)
        guard size > 64, size < 1 << 20 else { return nil }
        return (header, size)
    }

    private init(elf: OpaquePointer, path: String, asPerf: Bool = false) throws {
        self.path = path
        guard elf_kind(elf) == ELF_K_ELF else { throw SymbolError.notELF(path: path, reason: "not an ELF file") }

        var segments: [Segment] = []
        var ehFrameHeader: Segment?
        var count = 0
        if elf_getphdrnum(elf, &count) == 0 {
            for i in 0..<count {
                var ph = GElf_Phdr()
                guard gelf_getphdr(elf, Int32(i), &ph) != nil else { continue }
                let segment = Segment(virtualAddress: ph.p_vaddr, fileOffset: ph.p_offset, fileSize: ph.p_filesz,
                                      executable: ph.p_flags & UInt32(PF_X) != 0)
                if ph.p_type == UInt32(PT_LOAD) { segments.append(segment) }
                if ph.p_type == UInt32(PT_GNU_EH_FRAME) { ehFrameHeader = segment }
            }
        }
        self.segments = segments
        self.ehFrameHeader = ehFrameHeader

        var symtab = SymbolTable.Builder()
        var dynsym = SymbolTable.Builder()
        var buildID: [UInt8]?
        var debugLink: String?
        var namesIndex = 0
        _ = elf_getshdrstrndx(elf, &namesIndex)
        var scn: OpaquePointer? = nil
        while let s = elf_nextscn(elf, scn) {
            scn = s
            var sh = GElf_Shdr()
            guard gelf_getshdr(s, &sh) != nil else { continue }
            switch Int32(sh.sh_type) {
            case SHT_SYMTAB: symtab = ElfImage.functionSymbols(elf: elf, section: s, header: sh, dataObjects: asPerf)
            case SHT_DYNSYM: dynsym = ElfImage.functionSymbols(elf: elf, section: s, header: sh, dataObjects: asPerf)
            case SHT_NOTE: if buildID == nil { buildID = ElfImage.buildID(section: s) }
            case SHT_PROGBITS:
                if let name = elf_strptr(elf, namesIndex, Int(sh.sh_name)), strcmp(name, ".gnu_debuglink") == 0,
                   let data = elf_getdata(s, nil), let bytes = data.pointee.d_buf, data.pointee.d_size > 4 {
                    let raw = UnsafeRawBufferPointer(start: bytes, count: Int(data.pointee.d_size))
                    if let end = raw.firstIndex(of: 0) { debugLink = String(decoding: raw[..<end], as: UTF8.self) }
                }
            default: break
            }
        }
        plt = asPerf ? ElfImage.pltSymbolsAsPerf(elf: elf) : ElfImage.pltSymbols(elf: elf)
        var chosen = symtab.isEmpty ? dynsym : symtab
        chosen.merge(plt)
        self.symbols = SymbolTable(chosen)
        self.hasFullSymbols = !symtab.isEmpty
        self.buildID = buildID
        self.debugLink = debugLink
    }

    /// Takes the symbols of a separate debug file (same addresses, full `.symtab`) when it has more.
    public func adoptSymbols(from debug: ElfImage) {
        if debug.hasFullSymbols || symbols.isEmpty { symbols = debug.symbols.adding(plt) }
    }

    /// The file offset of a virtual address, through the PT_LOAD that contains it (executable ones first).
    public func fileOffset(ofVirtualAddress address: UInt64) -> UInt64? {
        var fallback: UInt64?
        for s in segments where address >= s.virtualAddress && address - s.virtualAddress < s.fileSize {
            let (offset, overflow) = (address - s.virtualAddress).addingReportingOverflow(s.fileOffset)
            guard !overflow else { continue }
            if s.executable { return offset }
            fallback = fallback ?? offset
        }
        return fallback
    }

    /// Only the build-id of `path`, without reading its symbols; nil when it has none or cannot be read.
    public static func buildID(ofFile path: String) -> [UInt8]? {
        guard libelfReady else { return nil }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard let elf = elf_begin(fd, ELF_C_READ_MMAP, nil) else { return nil }
        defer { elf_end(elf) }
        var scn: OpaquePointer? = nil
        while let s = elf_nextscn(elf, scn) {
            scn = s
            var sh = GElf_Shdr()
            if gelf_getshdr(s, &sh) != nil, Int32(sh.sh_type) == SHT_NOTE, let id = buildID(section: s) { return id }
        }
        return nil
    }

    /// The virtual address of a file offset, through the executable PT_LOAD that contains it (or any PT_LOAD);
    /// nil when no segment holds it, which means the mapping was not of this file's code.
    @inline(__always)
    public func virtualAddress(ofFileOffset offset: UInt64) -> UInt64? {
        var fallback: UInt64?
        for s in segments where offset >= s.fileOffset && offset - s.fileOffset < s.fileSize {
            let address = offset &- s.fileOffset &+ s.virtualAddress
            if s.executable { return address }
            fallback = fallback ?? address
        }
        return fallback
    }

    private static func functionSymbols(elf: OpaquePointer, section: OpaquePointer, header: GElf_Shdr, dataObjects: Bool) -> SymbolTable.Builder {
        var out = SymbolTable.Builder()
        guard header.sh_entsize > 0, let data = elf_getdata(section, nil) else { return out }
        let n = Int(header.sh_size / header.sh_entsize)
        var executable: [UInt16: Bool] = [:]
        for i in 0..<n {
            var sym = GElf_Sym()
            guard gelf_getsym(data, Int32(i), &sym) != nil else { continue }
            let type = Int32(sym.st_info & 0xf), bind = Int32(sym.st_info >> 4)
            // Labels as perf takes them: named, defined, not absolute, visible, and here only in code.
            let visibility = Int32(sym.st_other & 3)
            let isLabel = type == STT_NOTYPE && sym.st_shndx != UInt16(SHN_ABS) && visibility != STV_HIDDEN && visibility != STV_INTERNAL
            guard type == STT_FUNC || type == STT_GNU_IFUNC || isLabel || (dataObjects && type == STT_OBJECT), sym.st_shndx != UInt16(SHN_UNDEF), sym.st_value != 0,
                  let name = elf_strptr(elf, Int(header.sh_link), Int(sym.st_name)), name.pointee != 0 else { continue }
            if isLabel {
                let inCode = executable[sym.st_shndx] ?? {
                    var sh = GElf_Shdr()
                    let code = elf_getscn(elf, Int(sym.st_shndx)).map { gelf_getshdr($0, &sh) != nil && sh.sh_flags & UInt64(SHF_EXECINSTR) != 0 } ?? false
                    executable[sym.st_shndx] = code
                    return code
                }()
                guard inCode else { continue }
            }
            let binding: SymbolBinding = bind == STB_WEAK ? .weak : (bind == STB_GLOBAL ? .global : .local)
            out.add(start: sym.st_value, size: sym.st_size, name: UnsafeRawBufferPointer(start: name, count: strlen(name)),
                    binding: binding, isLabel: isLabel)
        }
        return out
    }

    /// The GNU build-id note (`NT_GNU_BUILD_ID`) of a SHT_NOTE section.
    private static func buildID(section: OpaquePointer) -> [UInt8]? {
        guard let data = elf_getdata(section, nil), let base = data.pointee.d_buf else { return nil }
        var offset = 0
        var note = GElf_Nhdr()
        var nameOffset = 0, descOffset = 0
        while true {
            let next = gelf_getnote(data, offset, &note, &nameOffset, &descOffset)
            if next == 0 { return nil }
            if note.n_type == 3 /* NT_GNU_BUILD_ID */, note.n_namesz == 4,
               memcmp(base + nameOffset, "GNU", 4) == 0 {
                let desc = UnsafeRawBufferPointer(start: base + descOffset, count: Int(note.n_descsz))
                return Array(desc)
            }
            offset = next
        }
    }
}

public enum SymbolError: Error, CustomStringConvertible {
    case libelf(String)
    case cannotOpen(path: String, reason: String)
    case notELF(path: String, reason: String)

    public var description: String {
        switch self {
        case .libelf(let m): return "libelf: \(m)"
        case .cannotOpen(let p, let r): return "cannot open \(p): \(r)"
        case .notELF(let p, let r): return "\(p) is not usable: \(r)"
        }
    }
}

/// libelf's handle of a regular file, open for as long as this object lives.
final class ElfHandle {
    let fd: Int32
    let elf: OpaquePointer

    init(path: String) throws {
        guard ElfImage.libelfReady else { throw SymbolError.libelf("elf_version failed") }
        // O_NONBLOCK: a FIFO named by mistake must not block the open before fstat refuses it.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw SymbolError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw SymbolError.notELF(path: path, reason: st.st_mode & S_IFMT == S_IFDIR ? "it is a directory; give an ELF binary or library" : "it is not a regular file")
        }
        guard let elf = elf_begin(fd, ELF_C_READ_MMAP, nil) else {
            close(fd)
            throw SymbolError.notELF(path: path, reason: String(cString: elf_errmsg(-1)))
        }
        self.fd = fd
        self.elf = elf
    }

    deinit {
        elf_end(elf)
        close(fd)
    }
}
