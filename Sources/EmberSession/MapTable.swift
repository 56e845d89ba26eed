/// A region of a process's address space backed by a dso: `[start, end)` maps to file offset `pageOffset`.
public struct Mapping: Hashable, Sendable {
    public var start: UInt64
    public var end: UInt64
    public var pageOffset: UInt64
    public var dso: Int

    public init(start: UInt64, end: UInt64, pageOffset: UInt64, dso: Int) {
        self.start = start
        self.end = end
        self.pageOffset = pageOffset
        self.dso = dso
    }

    /// The file offset of a process address inside this mapping.
    @inline(__always)
    public func fileOffset(of address: UInt64) -> UInt64 { address &- start &+ pageOffset }
}

/// Non-overlapping mappings sorted by start; a new mapping replaces whatever it overlaps, as mmap(2) does.
public struct MapTable: Sendable {
    public private(set) var mappings: [Mapping] = []

    public init() {}

    public mutating func insert(_ m: Mapping) {
        guard m.end > m.start else { return }
        var kept: [Mapping] = []
        var i = firstIndex(endingAfter: m.start)
        kept.reserveCapacity(2)
        let lower = i
        while i < mappings.count, mappings[i].start < m.end {
            let old = mappings[i]
            if old.start < m.start {
                kept.append(Mapping(start: old.start, end: m.start, pageOffset: old.pageOffset, dso: old.dso))
            }
            if old.end > m.end {
                kept.append(Mapping(start: m.end, end: old.end, pageOffset: old.pageOffset &+ (m.end - old.start), dso: old.dso))
            }
            i += 1
        }
        var replacement = kept.filter { $0.start < m.start }
        replacement.append(m)
        replacement.append(contentsOf: kept.filter { $0.start >= m.end })
        mappings.replaceSubrange(lower..<i, with: replacement)
    }

    /// The mapping containing `address`, if any.
    @inline(__always)
    public func lookup(_ address: UInt64) -> Mapping? {
        let i = firstIndex(endingAfter: address)
        guard i < mappings.count, mappings[i].start <= address else { return nil }
        return mappings[i]
    }

    /// The first mapping whose end is above `address`.
    @inline(__always)
    private func firstIndex(endingAfter address: UInt64) -> Int {
        var lo = 0, hi = mappings.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if mappings[mid].end <= address { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}
