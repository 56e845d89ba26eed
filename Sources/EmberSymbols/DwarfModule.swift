import CElfUtils
#if canImport(Glibc)
import Glibc
#endif

/// A source position: file and line.
public struct SourceLine: Hashable, Sendable {
    public var file: String
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    /// `file.c:12`, the base name only, as perf's srcline shows it.
    public var short: String {
        let base = file.split(separator: "/").last.map(String.init) ?? file
        return "\(base):\(line)"
    }
}

/// One function of an inline chain at an address, innermost first.
public struct InlineFrame: Sendable {
    /// The raw name (linkage name where the DWARF has one, so that it demangles like symbols do).
    public var name: String
    /// Where execution is in this function: the address's own line for the innermost, the call site of the
    /// function inlined into it for the others.
    public var line: SourceLine?
    /// Where the function is declared (its file and first line).
    public var declaration: SourceLine?
}

/// The DWARF of one binary through libdwfl: inline chains and line tables, found in the file itself or in its
/// separate debug file (by build-id or .gnu_debuglink under /usr/lib/debug).
///
/// The module is reported at base 0, so addresses are the ELF's own virtual addresses.
final class DwarfModule {
    private let dwfl: OpaquePointer
    private let module: OpaquePointer

    /// libdwfl keeps a pointer to its callbacks for the session's lifetime, so they live as long as the process.
    private static let callbacks: UnsafeMutablePointer<Dwfl_Callbacks> = {
        let p = UnsafeMutablePointer<Dwfl_Callbacks>.allocate(capacity: 1)
        p.initialize(to: Dwfl_Callbacks(find_elf: dwfl_build_id_find_elf, find_debuginfo: dwfl_standard_find_debuginfo,
                                        section_address: dwfl_offline_section_address, debuginfo_path: nil))
        return p
    }()

    /// Opens `path`'s DWARF; nil when neither it nor a debug file has any.
    init?(path: String) {
        guard let dwfl = dwfl_begin(DwarfModule.callbacks) else { return nil }
        dwfl_report_begin(dwfl)
        // Base 0 plus the first segment's own address: the module sits at its link-time addresses (bias 0).
        guard let module = dwfl_report_elf(dwfl, path, path, -1, 0, true) else {
            dwfl_end(dwfl)
            return nil
        }
        dwfl_report_end(dwfl, nil, nil)
        var bias: Dwarf_Addr = 0
        guard dwfl_module_getdwarf(module, &bias) != nil else {
            dwfl_end(dwfl)
            return nil
        }
        self.dwfl = dwfl
        self.module = module
    }

    deinit { dwfl_end(dwfl) }

    /// The line of an address, from the line table.
    func sourceLine(at address: UInt64) -> SourceLine? {
        guard let line = dwfl_module_getsrc(module, address) else { return nil }
        var lineNumber: Int32 = 0
        guard let file = dwfl_lineinfo(line, nil, &lineNumber, nil, nil, nil) else { return nil }
        return SourceLine(file: String(cString: file), line: Int(lineNumber))
    }

    /// The functions at `address`, innermost first: those inlined there, then the function they were inlined
    /// into (just that one when nothing is inlined); empty when the DWARF does not cover the address.
    func functions(at address: UInt64) -> [InlineFrame] {
        var bias: Dwarf_Addr = 0
        guard let cu = dwfl_module_addrdie(module, address, &bias) else { return [] }
        var scopes: UnsafeMutablePointer<Dwarf_Die>? = nil
        let n = dwarf_getscopes(cu, address &- bias, &scopes)
        guard n > 0, let scopes else { return [] }
        defer { free(scopes) }
        // dwarf_getscopes continues from an inlined instance into its abstract definition; the concrete callers
        // come from the instance's own parents (as eu-addr2line -i walks them).
        guard let innermost = (0..<Int(n)).first(where: { DwarfModule.isFunction(scopes + $0) }) else { return [] }
        guard dwarf_tag(scopes + innermost) == Int32(DW_TAG_inlined_subroutine) else {
            let die = scopes + innermost
            return [InlineFrame(name: DwarfModule.name(die) ?? "[unknown]", line: sourceLine(at: address),
                                declaration: DwarfModule.declaration(die))]
        }
        var parents: UnsafeMutablePointer<Dwarf_Die>? = nil
        let m = dwarf_getscopes_die(scopes + innermost, &parents)
        guard m > 0, let parents else { return [] }
        defer { free(parents) }
        var functions: [UnsafeMutablePointer<Dwarf_Die>] = []
        for i in 0..<Int(m) where DwarfModule.isFunction(parents + i) {
            functions.append(parents + i)
            if dwarf_tag(parents + i) == Int32(DW_TAG_subprogram) { break }
        }
        guard !functions.isEmpty else { return [] }
        var files: OpaquePointer? = nil
        var fileCount = 0
        _ = dwarf_getsrcfiles(cu, &files, &fileCount)
        var chain: [InlineFrame] = []
        var line = sourceLine(at: address)
        for die in functions {
            chain.append(InlineFrame(name: DwarfModule.name(die) ?? "[unknown]", line: line, declaration: DwarfModule.declaration(die)))
            line = DwarfModule.callSite(die, files: files, fileCount: fileCount)
        }
        return chain
    }

    /// `DW_AT_decl_file`/`DW_AT_decl_line`, through abstract origins.
    private static func declaration(_ die: UnsafeMutablePointer<Dwarf_Die>) -> SourceLine? {
        var line: Int32 = 0
        guard let file = dwarf_decl_file(die), dwarf_decl_line(die, &line) == 0 else { return nil }
        return SourceLine(file: String(cString: file), line: Int(line))
    }

    private static func isFunction(_ die: UnsafeMutablePointer<Dwarf_Die>) -> Bool {
        let tag = dwarf_tag(die)
        return tag == Int32(DW_TAG_inlined_subroutine) || tag == Int32(DW_TAG_subprogram)
    }

    /// The linkage name where there is one (it demangles), else the plain name; both through abstract origins.
    private static func name(_ die: UnsafeMutablePointer<Dwarf_Die>) -> String? {
        var attr = Dwarf_Attribute()
        for at in [UInt32(DW_AT_linkage_name), UInt32(DW_AT_MIPS_linkage_name)] {
            if dwarf_attr_integrate(die, at, &attr) != nil, let s = dwarf_formstring(&attr) { return String(cString: s) }
        }
        return dwarf_diename(die).map { String(cString: $0) }
    }

    /// `DW_AT_call_file`/`DW_AT_call_line` of an inlined subroutine: where its caller called it.
    private static func callSite(_ die: UnsafeMutablePointer<Dwarf_Die>, files: OpaquePointer?, fileCount: Int) -> SourceLine? {
        var attr = Dwarf_Attribute()
        var fileIndex: Dwarf_Word = 0, line: Dwarf_Word = 0
        guard dwarf_attr(die, UInt32(DW_AT_call_file), &attr) != nil, dwarf_formudata(&attr, &fileIndex) == 0,
              dwarf_attr(die, UInt32(DW_AT_call_line), &attr) != nil, dwarf_formudata(&attr, &line) == 0,
              let files, Int(fileIndex) < fileCount, let name = dwarf_filesrc(files, Int(fileIndex), nil, nil) else { return nil }
        return SourceLine(file: String(cString: name), line: Int(line))
    }
}
