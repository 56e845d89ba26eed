import EmberSession
import EmberSymbols

/// The frames a location shows as, worked out once per location: its symbol, then the functions inlined into it
/// (outermost first), each with the names collapse, report and pprof need. Samples then cost one integer lookup
/// per location. (Used from one thread: the properties each sample reads skip dynamic exclusivity checks.)
public final class FrameTable {
    /// The frame that stands for the callers an unwind could not reach (perf-compatible output says `[unknown]`).
    public static let truncatedName = "[truncated]"

    public struct Info {
        /// The display name (demangled), or `[unknown]`.
        public var name: String
        /// The symbol as the binary has it (mangled where the language mangles); `name` for `[unknown]`.
        public var rawName: String
        public var language: SymbolLanguage
        /// The dso index, nil for an address that no mapping covers.
        public var dso: Int?
        /// The dso's file name (`libc.so.6`), `[kernel.kallsyms]`, or `[unknown]`.
        public var dsoName: String
        public var kind: FrameKind
        public var isInlined: Bool
        public var line: SourceLine?
        /// Where the function is declared, when DWARF says.
        public var declaration: SourceLine?
        /// Where an unresolved frame is in its binary (the file offset, as perf shows it; the address itself in
        /// the kernel), for reports that list unresolved frames per address.
        public var address: UInt64? = nil
        /// The id of the stackcollapse-perf.pl name (`foldedNames`); -1 for a frame that perf's fold drops (named
        /// "(...", with `perfCompatible`).
        public var folded: Int32
    }

    @exclusivity(unchecked) public private(set) var infos: [Info] = []
    /// `infos[i].folded`, kept apart so that folding a frame reads one integer rather than copying an Info.
    @exclusivity(unchecked) public private(set) var foldedOf: [Int32] = []
    public private(set) var foldedNames: [String] = []
    public private(set) var foldedKinds: [FrameKind?] = []
    private var foldedIDs: [String: Int32] = [:]
    /// Per location, a run in `runs`: a count, then that many info ids.
    @exclusivity(unchecked) private var runs: [Int32] = []
    @exclusivity(unchecked) private var runByLocation = IntegerMap(capacity: 4096)
    @exclusivity(unchecked) private var unknown: Int32 = -1
    private var markers: [String: Int32] = [:]
    @exclusivity(unchecked) private var truncation: Int32 = -1
    private let resolver: FrameResolver
    private let model: ProcessModel
    /// Keep parameter lists in folded names (`--full-names`); set before the first frame is folded.
    public var fullNames = false

    init(resolver: FrameResolver, model: ProcessModel) {
        self.resolver = resolver
        self.model = model
    }

    /// The id of a folded name (a root such as the process name, or a frame's).
    public func intern(folded name: String, kind: FrameKind?) -> Int32 {
        if let id = foldedIDs[name] { return id }
        let id = Int32(foldedNames.count)
        foldedNames.append(name)
        foldedKinds.append(kind)
        foldedIDs[name] = id
        return id
    }

    /// Calls `body` with the info id of each frame a sampled frame shows as, outermost first; returns the id of
    /// the location's run of frames (one per distinct location), for consumers that group per location.
    @discardableResult
    @inline(__always)
    public func forEachInfo(of frame: ResolvedFrame, pid: Int32, _ body: (Int32) -> Void) -> Int {
        if frame.isTruncation {
            if truncation < 0 {
                let name = resolver.perfCompatible ? "[unknown]" : FrameTable.truncatedName
                truncation = add(Info(name: name, rawName: name, language: .plain, dso: nil, dsoName: "[unknown]", kind: .unknown, isInlined: false, line: nil, declaration: nil, folded: -1))
            }
            body(truncation)
            return -2
        }
        guard let location = frame.location else {
            if unknown < 0 { unknown = add(Info(name: "[unknown]", rawName: "[unknown]", language: .plain, dso: nil, dsoName: "[unknown]", kind: .unknown, isInlined: false, line: nil, declaration: nil, folded: -1)) }
            body(unknown)
            return -1
        }
        let key = location.cacheKey
        let run: Int
        if let cached = runByLocation[key] {
            run = Int(cached)
        } else {
            run = makeRun(frame, location: location, pid: pid)
            runByLocation.insert(Int32(run), for: key)
        }
        for i in 0..<Int(runs[run]) { body(runs[run + 1 + i]) }
        return run
    }

    private func makeRun(_ frame: ResolvedFrame, location: ProcessModel.Location, pid: Int32) -> Int {
        var frame = frame
        resolver.symbolize(&frame)
        let kind = resolver.kind(of: frame, pid: pid)
        let dso = model.dsos[location.dso]
        let dsoName = dso.isKernel ? Dso.kernelPath : dso.shortName
        var ids: [Int32] = []
        if let symbol = frame.symbol {
            ids.append(add(Info(name: symbol.name, rawName: symbol.rawName, language: symbol.language, dso: location.dso, dsoName: dsoName, kind: kind,
                                isInlined: false, line: symbol.line, declaration: symbol.declaration, folded: -1)))
            for f in symbol.inlined.reversed() {
                ids.append(add(Info(name: f.name, rawName: f.rawName, language: f.language, dso: location.dso, dsoName: dsoName, kind: kind,
                                    isInlined: true, line: f.line, declaration: f.declaration, folded: -1)))
            }
        } else {
            ids.append(add(Info(name: "[unknown]", rawName: "[unknown]", language: .plain, dso: location.dso, dsoName: dsoName, kind: kind,
                                isInlined: false, line: nil, declaration: nil, address: location.address.value, folded: -1)))
        }
        let run = runs.count
        runs.append(Int32(ids.count))
        runs.append(contentsOf: ids)
        return run
    }

    /// The info of a frame no address stands for, such as a wall-clock profile's `[off-cpu]`, made once.
    public func marker(_ name: String) -> Int32 {
        if let id = markers[name] { return id }
        let id = add(Info(name: name, rawName: name, language: .plain, dso: nil, dsoName: "[unknown]", kind: .unknown, isInlined: false,
                          line: nil, declaration: nil, folded: -1))
        markers[name] = id
        return id
    }

    private func add(_ info: Info) -> Int32 {
        var info = info
        let name = FrameTable.foldedName(info, fullNames: fullNames)
        // stackcollapse-perf.pl drops frames whose name starts with "(", a rule for perf's process names that
        // also drops real functions; only when matching it is that rule followed.
        info.folded = resolver.perfCompatible && name.hasPrefix("(") ? -1 : intern(folded: name, kind: info.kind)
        infos.append(info)
        foldedOf.append(info.folded)
        return Int32(infos.count - 1)
    }

    /// stackcollapse-perf.pl's name for a frame: tidied (Swift's short names kept whole; with `fullNames`, C++
    /// parameter lists too), an unknown symbol named after its binary (`[libc.so.6]`), inlined functions marked
    /// `_[i]`.
    static func foldedName(_ info: Info, fullNames: Bool) -> String {
        if info.name == "[unknown]" { return "[\(info.dso == nil ? "unknown" : info.dsoName)]" }
        if info.name == FrameTable.truncatedName, info.dso == nil { return info.name }
        var name = info.language == .swift || fullNames ? info.name.replacing(";", with: ":") : FrameTable.tidy(info.name)
        // A name that is all argument list ("(anonymous)") keeps it rather than vanish.
        if name.isEmpty { name = info.name.replacing(";", with: ":") }
        return info.isInlined ? name + "_[i]" : name
    }

    /// stackcollapse-perf.pl's generic tidying: `;` would split the frame, so it becomes `:`; an argument list is
    /// noise, so everything from the first `(` goes (but not `(anonymous namespace)`, nor in Go's `pkg.(*T).M`);
    /// quotes go.
    public static func tidy(_ name: String) -> String {
        var utf8 = Array(name.utf8)
        if utf8.contains(UInt8(ascii: ";")) {
            utf8 = utf8.map { $0 == UInt8(ascii: ";") ? UInt8(ascii: ":") : $0 }
        }
        if utf8.contains(UInt8(ascii: "(")), !isGoMethod(utf8) {
            let keep = "(anonymous namespace)".utf8
            if let cut = utf8.indices.first(where: { utf8[$0] == UInt8(ascii: "(") && !utf8[$0...].starts(with: keep) }) {
                utf8.removeSubrange(cut...)
            }
        }
        utf8.removeAll { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "'") }
        return String(decoding: utf8, as: UTF8.self)
    }

    /// `\.\(.*\)\.`: a Go method such as `net/http.(*Client).Do`.
    private static func isGoMethod(_ s: [UInt8]) -> Bool {
        guard let open = s.indices.first(where: { $0 > 0 && s[$0] == UInt8(ascii: "(") && s[$0 - 1] == UInt8(ascii: ".") }) else { return false }
        var i = s.count - 1
        while i > open {
            if s[i] == UInt8(ascii: ".") && s[i - 1] == UInt8(ascii: ")") { return true }
            i -= 1
        }
        return false
    }
}
