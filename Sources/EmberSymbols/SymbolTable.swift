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

    /// Collects candidate symbols, then `build()` sorts them.
    public struct Builder {
        fileprivate var names: [UInt8] = []
        fileprivate var candidates: [(start: UInt64, size: UInt64, offset: UInt32, length: UInt32, binding: SymbolBinding)] = []

        public init() {}

        public mutating func add(start: UInt64, size: UInt64, name: UnsafeRawBufferPointer, binding: SymbolBinding) {
            guard !name.isEmpty else { return }
            candidates.append((start, size, UInt32(names.count), UInt32(name.count), binding))
            names.append(contentsOf: name)
        }

        /// An unnamed end: addresses from `start` up to the next symbol belong to no function.
        public mutating func addBoundary(start: UInt64) {
            candidates.append((start, 0, UInt32(names.count), 0, .local))
        }

        public mutating func add(start: UInt64, size: UInt64, name: String, binding: SymbolBinding) {
            var name = name
            name.withUTF8 { add(start: start, size: size, name: UnsafeRawBufferPointer($0), binding: binding) }
        }

        public var isEmpty: Bool { candidates.isEmpty }
    }

    private var entries: [Entry] = []
    private var names: [UInt8] = []

    public init() {}

    /// Sorts, keeps one symbol per address (perf's `choose_best_symbol`), and gives zero-sized symbols the extent
    /// up to the next symbol (perf's `symbols__fixup_end`).
    public init(_ builder: Builder) {
        names = builder.names
        var sorted = builder.candidates
        sorted.sort { $0.start < $1.start }
        var unique: [(start: UInt64, size: UInt64, offset: UInt32, length: UInt32, binding: SymbolBinding)] = []
        unique.reserveCapacity(sorted.count)
        names.withUnsafeBufferPointer { arena in
            func name(_ c: (start: UInt64, size: UInt64, offset: UInt32, length: UInt32, binding: SymbolBinding)) -> UnsafeBufferPointer<UInt8> {
                UnsafeBufferPointer(rebasing: arena[Int(c.offset)..<Int(c.offset + c.length)])
            }
            for c in sorted {
                if let last = unique.last, last.start == c.start {
                    if SymbolTable.prefer((c.size, c.binding, name(c)), over: (last.size, last.binding, name(last))) {
                        unique[unique.count - 1] = c
                    }
                } else {
                    unique.append(c)
                }
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
    /// underscores, then the longer name.
    static func prefer(_ a: (size: UInt64, binding: SymbolBinding, name: UnsafeBufferPointer<UInt8>),
                       over b: (size: UInt64, binding: SymbolBinding, name: UnsafeBufferPointer<UInt8>)) -> Bool {
        if a.name.isEmpty != b.name.isEmpty { return b.name.isEmpty }
        if (a.size > 0) != (b.size > 0) { return a.size > 0 }
        if (a.binding == .weak) != (b.binding == .weak) { return b.binding == .weak }
        if (a.binding == .global) != (b.binding == .global) { return a.binding == .global }
        let ua = a.name.prefix { $0 == UInt8(ascii: "_") }.count, ub = b.name.prefix { $0 == UInt8(ascii: "_") }.count
        if ua != ub { return ua < ub }
        return a.name.count > b.name.count
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
    private static let magic: UInt64 = 0x3130_4d59_5342_4d45  // "EMBSYM01"

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
