import EmberKernel
import EmberSession

/// Turns `(dso, address)` locations into symbols, reading each binary once and each address once, so that the
/// cost follows the distinct addresses of a recording, not its samples.
///
/// Symbols are resolved at analysis time from the files on this machine (or `--symfs`), the binaries checked
/// against the build-ids the recording noted, kernel addresses through this machine's kallsyms.
public final class Symbolizer {
    /// A function an address is in, one per inlined call.
    public struct Function: Sendable {
        public var name: String
        /// The name as the binary has it (the DWARF linkage name, mangled where the language mangles).
        public var rawName: String
        public var language: SymbolLanguage
        public var line: SourceLine?
        public var declaration: SourceLine?
    }

    /// A resolved address: its symbol, the distance from the symbol's start, and the functions inlined there.
    public struct Hit: Sendable {
        public var name: String
        /// The symbol as the binary has it, before demangling.
        public var rawName: String
        public var offset: UInt64
        public var language: SymbolLanguage
        /// The address's line in the symbol's own function (the call site of the outermost inlined function).
        public var line: SourceLine?
        /// Where the symbol's function is declared, from DWARF.
        public var declaration: SourceLine?
        /// Functions inlined at the address, innermost first; empty when none (or inline frames are off).
        public var inlined: [Function]
    }

    private struct Binary {
        var image: ElfImage?
        var dwarf: DwarfModule?
        var dwarfLoaded = false
        /// Inline chains of earlier readings (with inline frames on and a build-id).
        var chains: InlineChainCache?
    }

    public let options: SymbolOptions
    let model: ProcessModel
    private let demangler: Demangler
    private var binaries: [Int: Binary] = [:]
    private var perfMaps: [Int: SymbolTable?] = [:]
    /// Per dso, its functions' bounds by CFI, for code no symbol names (`unnamedFunction`), and each location's
    /// answer (nil included: samples come back to the same few addresses).
    var functionBounds: [Int: FunctionBounds?] = [:]
    var unnamedFunctions: [UInt64: Hit?] = [:]
    /// The source files an archive being made reads its functions' lines from, each once.
    lazy var captureSources = SourceFiles(root: options.symfs)
    private var cache: [UInt64: Hit?] = [:]
    private var kernelCache: [UInt64: Hit?] = [:]
    private lazy var kernel: KernelSymbols = options.kernelSymbols ?? KernelSymbols.loadRunning()
    /// How far the running kernel's text moved from the recorded one's (KASLR picks a new base every boot).
    private lazy var kernelRelocation: UInt64 = {
        guard options.kernelSymbols == nil, let recorded = model.kernelTextStart, let running = KernelSymbols.runningTextStart() else { return 0 }
        return running &- recorded
    }()

    /// False when the recording names another kernel than the running one: its kallsyms and vDSO would lie.
    private lazy var sameKernel: Bool = {
        guard options.kernelSymbols == nil, let expected = options.expectedKernelBuildID, let running = KernelSymbols.runningBuildID, expected != running else { return true }
        warnOnce("the recording was made on another kernel (build-id \(hexString(expected)), running \(hexString(running))); kernel and vDSO frames show as [unknown]")
        return false
    }()
    /// One line per binary that could not be used, and the kptr_restrict note; each said once.
    public private(set) var warnings: [String] = []
    /// Replaying an archive: every symbol comes from its facts, nothing from this machine's files.
    public var archive: SymbolArchive?
    /// Making an archive: every lookup's facts are kept here (with the inline chain and source line whatever
    /// the options, so that any reading of the archive finds them).
    public var capture: SymbolArchive?

    public init(model: ProcessModel, options: SymbolOptions = SymbolOptions()) {
        self.model = model
        self.options = options
        self.demangler = Demangler(style: options.demangle)
    }

    /// The symbol at a location returned by `ProcessModel.resolve`.
    @inline(__always)
    public func symbol(at location: ProcessModel.Location) -> Hit? {
        if location.dso == model.kernelDso { return kernelSymbol(location.address.value) }
        let key = location.cacheKey
        if let cached = cache[key] { return cached }
        let hit = lookUp(location)
        cache[key] = hit
        return hit
    }

    /// The kernel function at an address a tracepoint recorded (a call site, a timer's function).
    public func kernelFunction(at address: UInt64) -> (name: String, offset: UInt64)? {
        kernelSymbol(address).map { ($0.name, $0.offset) }
    }

    private func kernelSymbol(_ address: UInt64) -> Hit? {
        if let cached = kernelCache[address] { return cached }
        if let archive {
            let hit = archive.kernel[address].flatMap { $0 }.map {
                Hit(name: $0.name, rawName: $0.name, offset: $0.offset, language: .plain, line: nil, declaration: nil, inlined: [])
            }
            kernelCache[address] = hit
            return hit
        }
        defer { capture?.kernel[address] = kernelCache[address].map { $0.map { ($0.name, $0.offset) } } }
        guard sameKernel else { kernelCache[address] = .some(nil); return nil }
        if kernel.addressesHidden {
            warnOnce("kernel addresses are hidden by kernel.kptr_restrict; kernel frames show as [unknown] (run as root or set kernel.kptr_restrict=0)")
        }
        let running = address &+ kernelRelocation
        let hit = kernel.table.lookup(running).map {
            Hit(name: $0.name, rawName: $0.name, offset: running - $0.start, language: .plain, line: nil, declaration: nil, inlined: [])
        }
        kernelCache[address] = hit
        return hit
    }

    private func lookUp(_ location: ProcessModel.Location) -> Hit? {
        if let archive { return archive.user[location.cacheKey].flatMap { $0 }.map(hit) }
        guard let facts = facts(location) else {
            capture?.user[location.cacheKey] = .some(nil)
            return nil
        }
        capture?.user[location.cacheKey] = facts
        return hit(facts)
    }

    /// What the binaries say of a location: its symbol, and (when the options use them, or an archive is being
    /// made) its inline chain and source line.
    private func facts(_ location: ProcessModel.Location) -> SymbolArchive.Facts? {
        let dso = model.dsos[location.dso]
        if dso.isPerfMap {
            guard let table = perfMap(location.dso), let s = table.lookup(location.address.value) else { return nil }
            return SymbolArchive.Facts(raw: s.name, offset: location.address.value - s.start, chain: nil, line: nil)
        }
        guard let offset = location.address.fileOffset, let image = image(for: location.dso),
              let address = image.virtualAddress(ofFileOffset: offset),
              let symbol = image.symbols.lookup(address) else { return nil }
        var facts = SymbolArchive.Facts(raw: symbol.name, offset: address - symbol.start, chain: nil, line: nil)
        let everything = capture != nil
        guard options.inline || options.sourceLines || everything else { return facts }
        if options.inline, let known = binaries[location.dso]?.chains?.chain(at: address) {
            facts.chain = known
        } else if let dwarf = dwarf(for: location.dso, image: image) {
            facts.chain = dwarf.functions(at: address)
            if options.inline { binaries[location.dso]?.chains?.store(facts.chain!, at: address) }
        }
        // The address's own line, for source lines: the innermost function's line in the chain (which is where it
        // came from), or from the line table where no function covers the address.
        if options.sourceLines || everything, let chain = facts.chain {
            facts.line = chain.first.map(\.line) ?? dwarf(for: location.dso, image: image)?.sourceLine(at: address)
        }
        return facts
    }

    /// A location's symbol as these options show it.
    private func hit(_ facts: SymbolArchive.Facts) -> Hit {
        var hit = make(facts.raw, offset: facts.offset)
        guard options.inline || options.sourceLines, let chain = facts.chain else { return hit }
        hit.declaration = chain.last?.declaration
        if options.inline, chain.count > 1 {
            hit.inlined = chain.dropLast().map { frame in
                let (name, language) = displayName(frame.name)
                return Function(name: name, rawName: frame.name, language: language, line: frame.line, declaration: frame.declaration)
            }
            hit.line = chain.last?.line
        } else if options.sourceLines {
            hit.line = facts.line
        }
        return hit
    }

    /// Keeps the inline chains this reading worked out for the next one (see `InlineChainCache`).
    public func saveCaches() {
        for binary in binaries.values { binary.chains?.save() }
    }

    private func make(_ raw: String, offset: UInt64) -> Hit {
        let (name, language) = displayName(raw)
        return Hit(name: name, rawName: raw, offset: offset, language: language, line: nil, declaration: nil, inlined: [])
    }

    /// A symbol's name as shown: demangled (Swift left mangled, C++ without parameters when matching perf), and
    /// without its version (`@@GLIBC_2.34`) unless versions were asked for; `@plt` is no version.
    func displayName(_ raw: String) -> (String, SymbolLanguage) {
        if options.perfCompatible, Demangler.isSwift(raw) { return (raw, .plain) }
        let (name, language) = demangler.demangle(raw)
        // perf demangles C++ without parameter lists.
        if options.perfCompatible, language == .cplusplus { return (Demangler.withoutParameters(name), language) }
        guard !options.symbolVersions, !options.perfCompatible, language == .plain, let at = name.firstIndex(of: "@"),
              at != name.startIndex, name[at...] != "@plt" else { return (name, language) }
        return (String(name[..<at]), language)
    }

    /// The path a binary is read from: under `--symfs` when given.
    private func path(of dso: Dso) -> String {
        (options.symfs ?? "") + dso.path
    }

    /// The ELF image of a dso, read on first use; nil (with one warning) when it cannot be read or is not the
    /// binary that was recorded.
    public func image(for dsoIndex: Int) -> ElfImage? {
        if let cached = binaries[dsoIndex] { return cached.image }
        let dso = model.dsos[dsoIndex]
        var image: ElfImage?
        if dso.isVDSO {
            image = sameKernel && options.kernelSymbols == nil ? ElfImage.runningVDSO() : nil
        } else if dso.isFile {
            do {
                let loaded = try ElfImage(path: path(of: dso), asPerf: options.perfCompatible)
                if let expected = options.expectedBuildIDs[dso.path], let actual = loaded.buildID, actual != expected {
                    warnOnce("\(dso.path) changed since it was recorded (build-id \(hexString(actual)), recorded \(hexString(expected))); its frames show as [unknown]")
                } else {
                    if !loaded.hasFullSymbols, let debug = debugFile(for: loaded) { loaded.adoptSymbols(from: debug) }
                    image = loaded
                }
            } catch {
                warnOnce("\(error); its frames show as [unknown]")
            }
        }
        var binary = Binary(image: image)
        if options.inline, !options.perfCompatible, let id = image?.buildID, dso.isFile {
            binary.chains = InlineChainCache(buildID: id, debugRoot: (options.symfs ?? "") + "/usr/lib/debug")
        }
        binaries[dsoIndex] = binary
        return image
    }

    func dwarf(for dsoIndex: Int, image: ElfImage) -> DwarfModule? {
        guard let binary = binaries[dsoIndex] else { return nil }
        if binary.dwarfLoaded { return binary.dwarf }
        let dwarf = model.dsos[dsoIndex].isFile ? DwarfModule(path: image.path) : nil
        binaries[dsoIndex]?.dwarf = dwarf
        binaries[dsoIndex]?.dwarfLoaded = true
        return dwarf
    }

    private func perfMap(_ dsoIndex: Int) -> SymbolTable? {
        if let cached = perfMaps[dsoIndex] { return cached }
        let path = model.dsos[dsoIndex].path
        let table = PerfMap.load(path)
        if table == nil { warnOnce("\(path) is missing, so JIT-compiled frames show as [unknown]") }
        perfMaps[dsoIndex] = table
        return table
    }

    /// Where a binary's debug file is found by its build-id: `ROOT/.build-id/ab/cdef….debug`.
    static func debugPath(buildID: [UInt8], root: String) -> String {
        let hex = hexString(buildID)
        return "\(root)/.build-id/\(hex.prefix(2))/\(hex.dropFirst(2)).debug"
    }

    /// The separate debug file of a stripped binary: by build-id, then by `.gnu_debuglink`, as gdb and perf look.
    private func debugFile(for image: ElfImage) -> ElfImage? {
        let root = (options.symfs ?? "") + "/usr/lib/debug"
        var candidates: [String] = []
        if let id = image.buildID, id.count > 1 { candidates.append(Symbolizer.debugPath(buildID: id, root: root)) }
        if let link = image.debugLink {
            let dir = String(image.path[..<(image.path.lastIndex(of: "/") ?? image.path.startIndex)])
            candidates += ["\(dir)/\(link)", "\(dir)/.debug/\(link)", "\(root)\(dir)/\(link)"]
        }
        for candidate in candidates {
            if let debug = try? ElfImage(path: candidate, asPerf: options.perfCompatible), debug.buildID == nil || debug.buildID == image.buildID {
                return debug
            }
        }
        return nil
    }

    private func warnOnce(_ message: String) {
        if !warnings.contains(message) { warnings.append(message) }
    }
}
