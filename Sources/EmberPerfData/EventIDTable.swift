/// Which event a record's sample id belongs to. The kernel hands ids out close together, so a table indexed from
/// the lowest id answers with one load; ids spread too far apart for that are searched in a sorted list. (A
/// dictionary hashed every record's id with seeded SipHash, a tenth of a scheduler recording's read time.)
struct EventIDTable {
    private let lowest: UInt64
    /// Event index + 1 by `id - lowest`; 0 for an id no event has.
    private let dense: [Int32]
    private let sorted: [(id: UInt64, event: Int)]
    private static let denseLimit: UInt64 = 1 << 16

    init(_ events: [EventDescription]) {
        var pairs: [(id: UInt64, event: Int)] = []
        for (i, e) in events.enumerated() { for id in e.ids { pairs.append((id, i)) } }
        pairs.sort { $0.id < $1.id }
        lowest = pairs.first?.id ?? 0
        if let highest = pairs.last?.id, highest - lowest < EventIDTable.denseLimit {
            var table = [Int32](repeating: 0, count: Int(highest - lowest) + 1)
            for (id, event) in pairs { table[Int(id - lowest)] = Int32(event + 1) }
            dense = table
            sorted = []
        } else {
            dense = []
            sorted = pairs
        }
    }

    func event(_ id: UInt64) -> Int? {
        if !dense.isEmpty {
            guard id >= lowest, id - lowest < UInt64(dense.count), dense[Int(id - lowest)] > 0 else { return nil }
            return Int(dense[Int(id - lowest)]) - 1
        }
        var low = 0, high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid].id < id { low = mid + 1 } else { high = mid }
        }
        return low < sorted.count && sorted[low].id == id ? sorted[low].event : nil
    }
}
