/// A function symbol: `[start, end)` in the binary's own address space (ELF virtual addresses, or kernel addresses).
public struct Symbol: Sendable, Equatable {
    public var start: UInt64
    public var end: UInt64
    public var name: String

    public init(start: UInt64, end: UInt64, name: String) {
        self.start = start
        self.end = end
        self.name = name
    }
}

/// How a symbol is bound; decides between aliases at one address.
public enum SymbolBinding: UInt8, Sendable {
    case local, global, weak
}

/// Function symbols sorted by address, aliases resolved the way perf resolves them, searchable by address.
///
/// Names stay as bytes in one arena until a lookup asks for one: a binary or kallsyms has tens of thousands of
/// symbols and a profile touches a few hundred, so building a String per symbol up front would dominate.
public struct SymbolTable: Sendable {
    private struct Entry {
        var start: UInt64
        var end: UInt64
        var nameOffset: UInt32
        var nameLength: UInt32
    }

    /// One symbol read from a binary or kallsyms, its name a range of the builder's arena.
    fileprivate struct Candidate {
        var start: UInt64
        var size: UInt64
        var offset: UInt32
        var length: UInt32
        var binding: SymbolBinding
        /// A `STT_NOTYPE` label (`_start` and `_dl_start_user` in ld.so): used only where no function covers it.
        var isLabel: Bool
    }

    /// Collects candidate symbols; `SymbolTable(builder)` sorts them.
    public struct Builder {
        fileprivate var names: [UInt8] = []
        fileprivate var candidates: [Candidate] = []
        /// kallsyms: of several names at one address, the last listed wins. perf sizes kallsyms symbols by the
        /// next one's address before it drops duplicates, so only the last of a run has a size.
        public var laterAliasesWin = false

        public init() {}

        public mutating func add(start: UInt64, size: UInt64, name: UnsafeRawBufferPointer, binding: SymbolBinding, isLabel: Bool = false) {
            guard !name.isEmpty else { return }
            candidates.append(Candidate(start: start, size: size, offset: UInt32(names.count), length: UInt32(name.count),
                                        binding: binding, isLabel: isLabel))
            names.append(contentsOf: name)
        }

        /// An unnamed end: addresses from `start` up to the next symbol belong to no function.
        public mutating func addBoundary(start: UInt64) {
            candidates.append(Candidate(start: start, size: 0, offset: UInt32(names.count), length: 0, binding: .local, isLabel: false))
        }

        public mutating func add(start: UInt64, size: UInt64, name: String, binding: SymbolBinding, isLabel: Bool = false) {
            var name = name
            name.withUTF8 { add(start: start, size: size, name: UnsafeRawBufferPointer($0), binding: binding, isLabel: isLabel) }
        }

        /// Takes in `other`'s symbols too.
        public mutating func merge(_ other: Builder) {
            let shift = UInt32(names.count)
            names += other.names
            candidates += other.candidates.map { c in
                var c = c
                c.offset += shift
                return c
            }
        }

        public var isEmpty: Bool { candidates.isEmpty }
    }

    private var entries: [Entry] = []
    private var names: [UInt8] = []

    public init() {}

    /// Sorts, keeps one symbol per address (perf's `choose_best_symbol`), drops labels inside a function, and gives
    /// zero-sized symbols the extent up to the next symbol (perf's `symbols__fixup_end`).
    public init(_ builder: Builder) {
        names = builder.names
        // Stable: kallsyms' order among aliases decides.
        let sorted = builder.candidates.enumerated().sorted { a, b in
            a.element.start != b.element.start ? a.element.start < b.element.start : a.offset < b.offset
        }.map(\.element)
        var unique: [Candidate] = []
        unique.reserveCapacity(sorted.count)
        names.withUnsafeBufferPointer { arena in
            func name(_ c: Candidate) -> UnsafeBufferPointer<UInt8> {
                UnsafeBufferPointer(rebasing: arena[Int(c.offset)..<Int(c.offset + c.length)])
            }
            var functionEnd: UInt64 = 0
            for c in sorted {
                if let last = unique.last, last.start == c.start {
                    if builder.laterAliasesWin ? c.length > 0 : SymbolTable.prefer(c, name(c), over: last, name(last)) {
                        unique[unique.count - 1] = c
                    }
                } else if !(c.isLabel && c.start < functionEnd) {
                    unique.append(c)
                }
                if !c.isLabel, c.size > 0 { functionEnd = max(functionEnd, c.start &+ c.size) }
            }
        }
        entries.reserveCapacity(unique.count)
        for (i, c) in unique.enumerated() {
            var end = c.start &+ c.size
            if c.size == 0 {
                end = i + 1 < unique.count ? unique[i + 1].start : (c.start & ~0xfff) &+ 0x2000
            }
            entries.append(Entry(start: c.start, end: end, nameOffset: c.offset, nameLength: c.length))
        }
    }

    /// perf's `choose_best_symbol`: sized over zero-sized, non-weak over weak, global over local, fewer leading
    /// underscores, then the longer name; a function over a label.
    private static func prefer(_ a: Candidate, _ aName: UnsafeBufferPointer<UInt8>, over b: Candidate, _ bName: UnsafeBufferPointer<UInt8>) -> Bool {
        if aName.isEmpty != bName.isEmpty { return bName.isEmpty }
        if a.isLabel != b.isLabel { return b.isLabel }
        if (a.size > 0) != (b.size > 0) { return a.size > 0 }
        if (a.binding == .weak) != (b.binding == .weak) { return b.binding == .weak }
        if (a.binding == .global) != (b.binding == .global) { return a.binding == .global }
        let ua = aName.prefix { $0 == UInt8(ascii: "_") }.count, ub = bName.prefix { $0 == UInt8(ascii: "_") }.count
        if ua != ub { return ua < ub }
        return aName.count > bName.count
    }

    /// This table with `extra` symbols added (a debug file's symbols and the binary's own PLT entries).
    public func adding(_ extra: Builder) -> SymbolTable {
        guard !extra.isEmpty else { return self }
        var builder = extra
        for e in entries {
            let name = names[Int(e.nameOffset)..<Int(e.nameOffset + e.nameLength)]
            if name.isEmpty {
                builder.addBoundary(start: e.start)
            } else {
                name.withUnsafeBytes { builder.add(start: e.start, size: e.end &- e.start, name: $0, binding: .global) }
            }
        }
        return SymbolTable(builder)
    }

    /// The symbol containing `address`.
    public func lookup(_ address: UInt64) -> Symbol? {
        var lo = 0, hi = entries.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if entries[mid].start <= address { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        let e = entries[lo - 1]
        guard address < e.end, e.nameLength > 0 else { return nil }
        let name = names[Int(e.nameOffset)..<Int(e.nameOffset + e.nameLength)]
        return Symbol(start: e.start, end: e.end, name: String(decoding: name, as: UTF8.self))
    }

    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }

    /// Every symbol whose name passes `matches` (a linear scan, for resolving probes by name).
    public func symbols(where matches: (String) -> Bool) -> [Symbol] {
        entries.compactMap { e in
            let name = String(decoding: names[Int(e.nameOffset)..<Int(e.nameOffset + e.nameLength)], as: UTF8.self)
            return matches(name) ? Symbol(start: e.start, end: e.end, name: name) : nil
        }
    }
}

extension SymbolTable {
    /// Bumped whenever the way a table is built changes, so that caches of older tables are rebuilt.
    private static let magic: UInt64 = 0x3230_4d59_5342_4d45  // "EMBSYM02"

    /// The table as bytes (`magic, count, names length, entries, names`), for an on-disk cache.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(24 + entries.count * MemoryLayout<Entry>.stride + names.count)
        withUnsafeBytes(of: SymbolTable.magic.littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt64(entries.count).littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt64(names.count).littleEndian) { out.append(contentsOf: $0) }
        for e in entries {
            withUnsafeBytes(of: e.start.littleEndian) { out.append(contentsOf: $0) }
            withUnsafeBytes(of: e.end.littleEndian) { out.append(contentsOf: $0) }
            withUnsafeBytes(of: e.nameOffset.littleEndian) { out.append(contentsOf: $0) }
            withUnsafeBytes(of: e.nameLength.littleEndian) { out.append(contentsOf: $0) }
        }
        out.append(contentsOf: names)
        return out
    }

    /// Reads `serialized()` bytes back; nil when they are not a whole, consistent table.
    public init?(serialized b: UnsafeRawBufferPointer) {
        func u64(_ o: Int) -> UInt64 { UInt64(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
        func u32(_ o: Int) -> UInt32 { UInt32(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
        guard b.count >= 24, u64(0) == SymbolTable.magic else { return nil }
        let count = Int(clamping: u64(8)), nameBytes = Int(clamping: u64(16))
        guard count <= (b.count - 24) / 24, nameBytes == b.count - 24 - count * 24 else { return nil }
        // Entries are stored as the little-endian machine lays them out: copy them in one go, then check them.
        precondition(MemoryLayout<Entry>.stride == 24)
        entries = [Entry](unsafeUninitializedCapacity: count) { buffer, initialized in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: b[24..<(24 + count * 24)]))
            initialized = count
        }
        guard entries.allSatisfy({ Int($0.nameOffset) + Int($0.nameLength) <= nameBytes }) else { return nil }
        names = Array(b[(24 + count * 24)...])
    }
}
