import EmberKernel
import EmberSymbols
#if canImport(Glibc)
import Glibc
#endif

/// An event ready to open: its attr (sampling fields still to be filled in by the recorder), the string a probe
/// PMU reads during perf_event_open, and what the file needs to describe it.
public struct ResolvedEvent: Sendable {
    /// The name written into the file (`cpu-clock`, `sched:sched_switch`, `uprobe:/bin/x:f`).
    public var name: String
    public var attr: EventAttr
    /// For probe PMUs: the binary path (uprobe) or function (kprobe) that `config1` points to.
    public var probeString: String?
    /// For tracepoints: its system and tracefs format, for HEADER_TRACING_DATA.
    public var tracepoint: (system: String, format: String)?
    /// A tracepoint filter (`--filter`).
    public var filter: String?
    /// A counter event, sampled at a frequency or period; other events record every hit.
    public var spec: EventSpec?
    /// False for a probe that must not be inherited (see `TracefsProbes`).
    var followsForks = true
    /// As the recording asked (`RecordedEvent`): on every CPU whatever the target; with the call graph.
    var allCPUs = false
    var stacks = true

    /// Whether, with frame-pointer chains, its samples take the registers and a stack copy for the leaf repair
    /// (`RecordedEvent.repairsLeaf`; nil: by its kind).
    var repairsLeaf: Bool?

    /// By default, not a uretprobe nor a USDT probe: a uretprobe fires at the return address with the callee's frame
    /// gone; a USDT site is inside a function that has set up its frame (if it keeps frame pointers at all), and may
    /// be hit often: a stack copy per hit would fill the rings.
    var takesLeafRepair: Bool { repairsLeaf ?? !(name.hasPrefix("uretprobe:") || name.hasPrefix("usdt:")) }
}

/// Turns `-e` requests into events: tracepoint ids and formats from tracefs, probe PMUs from sysfs, uprobe file
/// offsets from ELF symbols and program headers, USDT sites and semaphores from `.note.stapsdt`.
public enum EventResolver {
    /// Registers a probe's arguments and return value come in: every general register but DS, ES, FS and GS
    /// (`PERF_REGS_MASK`, as perf asks for DWARF unwinding too).
    public static let userRegisters: UInt64 = 0xff0fff
    /// AX (the return value) and the six argument registers, DI, SI, DX, CX, R8 and R9 (`PERF_REG_X86_*` bits): all
    /// that a kprobe's sample needs of the registers at the probe, 56 bytes where every register would take 160.
    static let argumentRegisters: UInt64 = 1 << 0 | 1 << 2 | 1 << 3 | 1 << 4 | 1 << 5 | 1 << 16 | 1 << 17
    /// Bytes of stack copied with a USDT probe whose arguments live in memory.
    static let usdtStackBytes: UInt32 = 1024

    public static func resolve(_ request: EventRequest, filter: String?, pids: [Int32]) throws -> [ResolvedEvent] {
        switch request {
        case .counter(let spec, let modifiers):
            if filter != nil { throw RecordError.badEvent(spec.name, "--filter applies to tracepoints and probes") }
            var attr = EventAttr(type: spec.type, config: spec.config)
            attr.flags.formUnion(EventRequest.flags(modifiers: modifiers))
            return [ResolvedEvent(name: modifiers.isEmpty ? spec.name : spec.name + ":" + modifiers, attr: attr, spec: spec)]
        case .tracepoint(let pattern):
            do { _ = try Tracefs.mounted() } catch { throw RecordError.tracefs("\(error)") }
            let names = pattern.contains("*") || pattern.contains("?") ? Tracefs.events(matching: pattern) : [pattern]
            guard !names.isEmpty else { throw RecordError.noSuchTracepoint(pattern, suggestions: []) }
            return try names.map { name in
                let parts = name.split(separator: ":").map(String.init)
                guard parts.count == 2, let id = Tracefs.eventID(system: parts[0], name: parts[1]),
                      let format = Tracefs.format(system: parts[0], name: parts[1]) else {
                    throw RecordError.noSuchTracepoint(name, suggestions: Tracefs.suggestions(for: name))
                }
                var attr = EventAttr(type: .tracepoint, config: id)
                attr.sampleType = [.raw]
                return ResolvedEvent(name: name, attr: attr, tracepoint: (parts[0], format), filter: filter)
            }
        case .uprobe(let binary, let location, let isReturn):
            guard let pmu = DynamicPMU.named("uprobe") else { throw RecordError.noProbePMU(kind: "uprobe") }
            let path = try BinaryLocator.find(binary, pids: pids)
            let offset = try fileOffset(of: location, in: path)
            let label: String
            switch location {
            case .symbol(let s, let off): label = off == 0 ? s : "\(s)+0x\(String(off, radix: 16))"
            case .fileOffset(let off): label = "0x" + String(off, radix: 16)
            }
            return [probe(pmu: pmu, name: "\(isReturn ? "uretprobe" : "uprobe"):\(path):\(label)", path: path,
                          offset: offset, isReturn: isReturn, refCtr: 0, filter: filter)]
        case .usdt(let binary, let provider, let name):
            guard let pmu = DynamicPMU.named("uprobe") else { throw RecordError.noProbePMU(kind: "uprobe") }
            let path = try BinaryLocator.find(binary, pids: pids)
            let probes = try ElfImage.usdtProbes(path: path)
            let sites = probes.filter { $0.provider == provider && $0.name == name }
            guard !sites.isEmpty else {
                throw RecordError.noSuchUSDT(binary: path, probe: "\(provider):\(name)", available: probes.map { "\($0.provider):\($0.name)" })
            }
            let image = try ElfImage(path: path)
            let label = "usdt:\(binary):\(provider):\(name)"
            // The compiler may copy a probe site (inlining, unrolling): each copy has its own note, and all are probed.
            return try sites.map { p in
                guard let pc = image.fileOffset(ofVirtualAddress: p.pc) else {
                    throw RecordError.badEvent(label, "its address 0x\(String(p.pc, radix: 16)) is in no loaded segment")
                }
                var semaphore: UInt64 = 0
                if p.semaphore != 0 {
                    guard let offset = image.fileOffset(ofVirtualAddress: p.semaphore), offset < 1 << 32 else {
                        throw RecordError.badEvent(label, "its semaphore 0x\(String(p.semaphore, radix: 16)) is in no loaded segment")
                    }
                    guard pmu.refCtrShift != nil else {
                        throw RecordError.badEvent(label, "it has a semaphore, and this kernel's uprobe PMU cannot set one (no format/ref_ctr_offset; Linux 4.20 or later has it)")
                    }
                    semaphore = offset
                }
                var event = probe(pmu: pmu, name: "usdt:\(path):\(provider):\(name)", path: path, offset: pc, isReturn: false,
                                  refCtr: semaphore, filter: filter)
                // Arguments in memory (`8@-16(%rbp)`) are read from a copy of the top of the stack.
                if p.arguments.contains("(") {
                    event.attr.sampleType.insert(.stackUser)
                    event.attr.sampleStackUser = usdtStackBytes
                }
                return event
            }
        case .kprobe(let function, let offset, let isReturn):
            guard let pmu = DynamicPMU.named("kprobe") else { throw RecordError.noProbePMU(kind: "kprobe") }
            if let problem = KprobeTargets.problem(with: function) { throw RecordError.badEvent("kprobe:\(function)", problem) }
            return [kprobe(pmu: pmu, function: function, offset: offset, isReturn: isReturn, filter: filter)]
        }
    }

    /// A uprobe PMU event: `config` the return bit and the semaphore's file offset, `config1` the path (filled in
    /// during the syscall), `config2` the probe's file offset.
    static func probe(pmu: DynamicPMU, name: String, path: String, offset: UInt64, isReturn: Bool, refCtr: UInt64,
                      filter: String?) -> ResolvedEvent {
        var attr = EventAttr(type: pmu.type, config: pmu.config(retprobe: isReturn, refCtrOffset: refCtr))
        attr.config2 = offset
        attr.sampleType = [.raw, .regsUser]
        attr.sampleRegsUser = userRegisters
        return ResolvedEvent(name: name, attr: attr, probeString: path, filter: filter)
    }

    /// A kprobe PMU event: `config` the return bit, `config1` the function name, `config2` the offset into it. Its
    /// samples carry the kernel's registers at the probe (`PERF_SAMPLE_REGS_INTR`): the arguments by the calling
    /// convention, and a kretprobe's return value.
    public static func kprobe(pmu: DynamicPMU, function: String, offset: UInt64, isReturn: Bool, filter: String?) -> ResolvedEvent {
        var attr = EventAttr(type: pmu.type, config: pmu.config(retprobe: isReturn))
        attr.config2 = offset
        attr.sampleType = [.raw, .regsIntr]
        attr.sampleRegsIntr = argumentRegisters
        let name = isReturn ? "kretprobe:\(function)" : (offset == 0 ? "kprobe:\(function)" : "kprobe:\(function)+\(offset)")
        return ResolvedEvent(name: name, attr: attr, probeString: function, filter: filter)
    }

    /// The file offset of a uprobe location: a symbol (raw or demangled, unambiguous) through the program headers,
    /// or an offset checked against the file's size.
    static func fileOffset(of location: EventRequest.ProbeLocation, in path: String) throws -> UInt64 {
        switch location {
        case .fileOffset(let offset):
            var st = stat()
            guard stat(path, &st) == 0 else { throw RecordError.noSuchBinary(path) }
            guard offset < UInt64(st.st_size) else { throw RecordError.offsetPastEnd(binary: path, offset: offset, size: UInt64(st.st_size)) }
            return offset
        case .symbol(let name, let extra):
            let image: ElfImage, names: [ElfImage.NamedFunction]
            do {
                image = try ElfImage(path: path)
                names = try ElfImage.functionNames(path: path)
            } catch {
                throw RecordError.badEvent(path, "\(error)")
            }
            let short = Demangler(style: .short), full = Demangler(style: .full)
            var matches = names.filter { f in
                if f.name == name || f.name + f.version == name { return true }
                guard f.name.hasPrefix("_Z") || f.name.hasPrefix("$s") || f.name.hasPrefix("_$s") else { return false }
                let s = short.demangle(f.name).name, l = full.demangle(f.name).name
                return s == name || l == name || s.prefix { $0 != "(" } == name || l.prefix { $0 != "(" } == name
            }
            // A name with a default version (memcpy@@GLIBC_2.14) means that one, not a hidden older version.
            if matches.contains(where: \.isDefaultVersion) { matches = matches.filter(\.isDefaultVersion) }
            let byAddress = Dictionary(grouping: matches, by: \.address)
            guard let first = byAddress.first else { throw RecordError.noSuchSymbol(binary: path, symbol: name, stripped: !image.hasFullSymbols) }
            guard byAddress.count == 1 else {
                let candidates = byAddress.map { address, fs in
                    "\(short.demangle(fs[0].name).name)\(fs[0].version) at 0x\(String(address, radix: 16))"
                }
                throw RecordError.ambiguousSymbol(binary: path, symbol: name, candidates: candidates.sorted())
            }
            guard let offset = image.fileOffset(ofVirtualAddress: first.key &+ extra) else {
                throw RecordError.badEvent(name, "its address is in no loaded segment of \(path)")
            }
            return offset
        }
    }
}

/// Finds the binary a probe names: a path, a program in PATH, or a library (`libc`) as the dynamic linker would,
/// or as a target process has it mapped.
enum BinaryLocator {
    static let libraryDirectories = ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
                                     "/lib", "/usr/lib", "/usr/local/lib"]

    static func find(_ name: String, pids: [Int32]) throws -> String {
        if name.contains("/") {
            guard access(name, R_OK) == 0 else { throw RecordError.noSuchBinary(name) }
            return realPath(name)
        }
        let stem = name.hasPrefix("lib") ? name : "lib" + name
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
        if !name.hasPrefix("lib") {
            for dir in path.split(separator: ":") where isRegularFile("\(dir)/\(name)") && access("\(dir)/\(name)", X_OK) == 0 {
                return realPath("\(dir)/\(name)")
            }
        }
        for pid in pids {
            for m in ProcScanner.mappings(pid: pid, includeData: false) {
                let base = m.filename.split(separator: "/").last.map(String.init) ?? ""
                if base == name || base.hasPrefix(stem + ".so") || base.hasPrefix(stem + "-") { return m.filename }
            }
        }
        for dir in libraryDirectories {
            for candidate in [name, stem + ".so.6", stem + ".so.1", stem + ".so"] where isRegularFile(dir + "/" + candidate) {
                return realPath(dir + "/" + candidate)
            }
        }
        throw RecordError.noSuchBinary(name)
    }

    private static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFREG && access(path, R_OK) == 0
    }

    private static func realPath(_ path: String) -> String { resolvedPath(path) ?? path }
}
