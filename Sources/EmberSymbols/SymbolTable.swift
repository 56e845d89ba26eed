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
public enum SymbolBinding: Sendable {
    case local, global, weak
}

/// Function symbols sorted by address, aliases resolved the way perf resolves them, searchable by address.
public struct SymbolTable: Sendable {
    public private(set) var symbols: [Symbol] = []

    public struct Candidate {
        public var start: UInt64
        public var size: UInt64
        public var name: String
        public var binding: SymbolBinding
        public init(start: UInt64, size: UInt64, name: String, binding: SymbolBinding) {
            self.start = start
            self.size = size
            self.name = name
            self.binding = binding
        }
    }

    public init() {}

    /// Builds the table: sorts, keeps one symbol per address (perf's `choose_best_symbol`), and gives zero-sized
    /// symbols the extent up to the next symbol (perf's `symbols__fixup_end`).
    public init(_ candidates: [Candidate]) {
        var sorted = candidates.filter { !$0.name.isEmpty }
        sorted.sort { $0.start < $1.start }
        var unique: [Candidate] = []
        unique.reserveCapacity(sorted.count)
        for c in sorted {
            if let last = unique.last, last.start == c.start {
                if SymbolTable.prefer(c, over: last) { unique[unique.count - 1] = c }
            } else {
                unique.append(c)
            }
        }
        symbols.reserveCapacity(unique.count)
        for (i, c) in unique.enumerated() {
            var end = c.start &+ c.size
            if c.size == 0 {
                end = i + 1 < unique.count ? unique[i + 1].start : (c.start & ~0xfff) &+ 0x2000
            }
            symbols.append(Symbol(start: c.start, end: end, name: c.name))
        }
    }

    /// perf's `choose_best_symbol`: sized over zero-sized, non-weak over weak, global over local, fewer leading
    /// underscores, then the longer name.
    static func prefer(_ a: Candidate, over b: Candidate) -> Bool {
        if (a.size > 0) != (b.size > 0) { return a.size > 0 }
        if (a.binding == .weak) != (b.binding == .weak) { return b.binding == .weak }
        if (a.binding == .global) != (b.binding == .global) { return a.binding == .global }
        let ua = a.name.prefix { $0 == "_" }.count, ub = b.name.prefix { $0 == "_" }.count
        if ua != ub { return ua < ub }
        return a.name.utf8.count > b.name.utf8.count
    }

    /// The symbol containing `address`.
    public func lookup(_ address: UInt64) -> Symbol? {
        var lo = 0, hi = symbols.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if symbols[mid].start <= address { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        let s = symbols[lo - 1]
        return address < s.end ? s : nil
    }

    public var isEmpty: Bool { symbols.isEmpty }
}
