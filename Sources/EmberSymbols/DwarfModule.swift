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
    /// The compilation units looked at so far, by the offset of their DIE.
    private var units: [Dwarf_Off: Unit] = [:]

    /// Per compilation unit, every function and inlined call in it, walked once: an address then finds its chain
    /// by binary search. (Asking libdw's `dwarf_getscopes` per address walked the unit's DIE tree twice for each
    /// new address, most of the time `collapse` spent on a large debug file.)
    private final class Unit {
        struct Scope {
            var die: Dwarf_Die
            /// The enclosing function or inlined call, -1 for none.
            var parent: Int32
            var isInlined: Bool
        }

        private(set) var scopes: [Scope] = []
        static let holdsCode: Set<Int32> = [DW_TAG_subprogram, DW_TAG_inlined_subroutine, DW_TAG_lexical_block, DW_TAG_namespace,
                                            DW_TAG_module, DW_TAG_try_block, DW_TAG_catch_block].map { Int32($0) }.reduce(into: []) { $0.insert($1) }
        /// Non-overlapping address ranges, sorted, each with the innermost scope that covers it.
        private var segments: [(low: UInt64, high: UInt64, scope: Int32)] = []
        var files: OpaquePointer?
        var fileCount = 0

        init(cu: UnsafeMutablePointer<Dwarf_Die>) {
            _ = dwarf_getsrcfiles(cu, &files, &fileCount)
            var intervals: [(low: UInt64, high: UInt64, depth: Int32, scope: Int32)] = []
            // Depth-first, iteratively: (die, enclosing scope, depth).
            var stack: [(Dwarf_Die, Int32, Int32)] = []
            var child = Dwarf_Die()
            if dwarf_child(cu, &child) == 0 { stack.append((child, -1, 0)) }
            while var (die, parent, depth) = stack.popLast() {
                var sibling = Dwarf_Die()
                if dwarf_siblingof(&die, &sibling) == 0 { stack.append((sibling, parent, depth)) }
                let tag = dwarf_tag(&die)
                var enclosing = parent
                if tag == Int32(DW_TAG_subprogram) || tag == Int32(DW_TAG_inlined_subroutine) {
                    let index = Int32(scopes.count)
                    scopes.append(Scope(die: die, parent: parent, isInlined: tag == Int32(DW_TAG_inlined_subroutine)))
                    var base: Dwarf_Addr = 0, low: Dwarf_Addr = 0, high: Dwarf_Addr = 0
                    var offset = dwarf_ranges(&die, 0, &base, &low, &high)
                    while offset > 0 {
                        if high > low { intervals.append((low, high, depth, index)) }
                        offset = dwarf_ranges(&die, offset, &base, &low, &high)
                    }
                    enclosing = index
                } else if tag == Int32(DW_TAG_imported_unit) {
                    // dwz moves shared DIEs into partial units that others import.
                    var attr = Dwarf_Attribute()
                    var imported = Dwarf_Die()
                    if dwarf_attr(&die, UInt32(DW_AT_import), &attr) != nil, dwarf_formref_die(&attr, &imported) != nil,
                       dwarf_child(&imported, &child) == 0 {
                        stack.append((child, parent, depth + 1))
                    }
                    continue
                }
                // Code lives only in functions, blocks and namespaces: types, variables and parameters are stepped
                // over whole (GCC's DW_AT_sibling makes that one step), most of a unit's DIEs.
                if Unit.holdsCode.contains(tag), dwarf_child(&die, &child) == 0 { stack.append((child, enclosing, depth + 1)) }
            }
            intervals.sort { $0.low != $1.low ? $0.low < $1.low : $0.depth < $1.depth }
            // Paint: nested ranges (a call inside its caller) split the outer one; the innermost covers each part.
            var open: [(high: UInt64, scope: Int32)] = []
            var cursor: UInt64 = 0
            func emit(_ high: UInt64, _ scope: Int32) {
                if cursor < high { segments.append((cursor, high, scope)) }
                cursor = max(cursor, high)
            }
            for interval in intervals {
                while let top = open.last, top.high <= interval.low {
                    emit(top.high, top.scope)
                    open.removeLast()
                }
                if let top = open.last { emit(interval.low, top.scope) }
                cursor = max(cursor, interval.low)
                open.append((min(interval.high, open.last?.high ?? .max), interval.scope))
            }
            while let top = open.popLast() { emit(top.high, top.scope) }
        }

        /// The innermost scope covering `address`, or -1.
        func scope(at address: UInt64) -> Int32 {
            var lo = 0, hi = segments.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if segments[mid].low <= address { lo = mid + 1 } else { hi = mid }
            }
            guard lo > 0, address < segments[lo - 1].high else { return -1 }
            return segments[lo - 1].scope
        }
    }


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

    /// The line table's rows in `[start, end)`, sorted by address: each holds from its address up to the next
    /// row's (the last up to `end`). Of several rows at one address the last wins, as addr2line reads them.
    func lineRows(from start: UInt64, to end: UInt64) -> [(address: UInt64, line: SourceLine)] {
        var bias: Dwarf_Addr = 0
        guard let cu = dwfl_module_addrdie(module, start, &bias) else { return [] }
        var lines: OpaquePointer?
        var count = 0
        guard dwarf_getsrclines(cu, &lines, &count) == 0, let lines else { return [] }
        var rows: [(address: UInt64, line: SourceLine)] = []
        var files: [UnsafePointer<CChar>: String] = [:]
        for i in 0..<count {
            guard let row = dwarf_onesrcline(lines, i) else { continue }
            var address: Dwarf_Addr = 0
            var number: Int32 = 0
            var ends = false
            guard dwarf_lineaddr(row, &address) == 0, dwarf_lineno(row, &number) == 0 else { continue }
            address &+= bias
            guard address >= start, address < end, !(dwarf_lineendsequence(row, &ends) == 0 && ends), number > 0,
                  let name = dwarf_linesrc(row, nil, nil) else { continue }
            let file = files[name] ?? String(cString: name)
            files[name] = file
            rows.append((address, SourceLine(file: file, line: Int(number))))
        }
        // Stable: rows at one address keep their table order, so the last is the one kept.
        rows = rows.enumerated().sorted { $0.element.address != $1.element.address ? $0.element.address < $1.element.address : $0.offset < $1.offset }.map(\.element)
        var kept: [(address: UInt64, line: SourceLine)] = []
        for row in rows {
            if kept.last?.address == row.address { kept[kept.count - 1] = row } else { kept.append(row) }
        }
        return kept
    }

    /// The functions at `address`, innermost first: those inlined there, then the function they were inlined
    /// into (just that one when nothing is inlined); empty when the DWARF does not cover the address.
    func functions(at address: UInt64) -> [InlineFrame] {
        var bias: Dwarf_Addr = 0
        guard let cu = dwfl_module_addrdie(module, address, &bias) else { return [] }
        let key = dwarf_dieoffset(cu)
        let unit: Unit
        if let known = units[key] {
            unit = known
        } else {
            unit = Unit(cu: cu)
            units[key] = unit
        }
        var index = unit.scope(at: address &- bias)
        var chain: [InlineFrame] = []
        var line = sourceLine(at: address)
        while index >= 0 {
            var scope = unit.scopes[Int(index)]
            chain.append(InlineFrame(name: DwarfModule.name(&scope.die) ?? "[unknown]", line: line,
                                     declaration: DwarfModule.declaration(&scope.die)))
            // The concrete callers of an inlined call are its enclosing scopes, up to the function it is in.
            guard scope.isInlined else { break }
            line = DwarfModule.callSite(&scope.die, files: unit.files, fileCount: unit.fileCount)
            index = scope.parent
        }
        return chain
    }

    /// `DW_AT_decl_file`/`DW_AT_decl_line`, through abstract origins.
    private static func declaration(_ die: UnsafeMutablePointer<Dwarf_Die>) -> SourceLine? {
        var line: Int32 = 0
        guard let file = dwarf_decl_file(die), dwarf_decl_line(die, &line) == 0 else { return nil }
        return SourceLine(file: String(cString: file), line: Int(line))
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
              let files, fileIndex < UInt64(fileCount), let name = dwarf_filesrc(files, Int(fileIndex), nil, nil) else { return nil }
        return SourceLine(file: String(cString: name), line: Int(clamping: line))
    }
}
