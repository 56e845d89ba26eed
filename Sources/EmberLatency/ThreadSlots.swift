/// Dense slot numbers for thread ids: open addressing with a multiplicative hash. A `[Int32: Int]` dictionary
/// hashed every tid with seeded SipHash, a tenth of the analysis time on a scheduler recording.
struct ThreadSlots {
    private var tids: [Int32]
    /// Slot + 1 at the tid's position; 0 marks an empty position.
    private var slots: [Int32]
    private var mask: Int
    private(set) var count = 0

    init() {
        tids = [Int32](repeating: 0, count: 1024)
        slots = [Int32](repeating: 0, count: 1024)
        mask = 1023
    }

    /// The slot of `tid`, giving it the next free one (`count` before the call) when it has none.
    mutating func slot(_ tid: Int32) -> Int {
        var i = position(tid)
        while slots[i] != 0 {
            if tids[i] == tid { return Int(slots[i]) - 1 }
            i = (i + 1) & mask
        }
        tids[i] = tid
        slots[i] = Int32(truncatingIfNeeded: count + 1)
        count += 1
        if count * 2 > mask { grow() }
        return count - 1
    }

    private func position(_ tid: Int32) -> Int {
        Int(truncatingIfNeeded: (UInt64(UInt32(bitPattern: tid)) &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    private mutating func grow() {
        let old = zip(tids, slots).filter { $0.1 != 0 }
        tids = [Int32](repeating: 0, count: (mask + 1) * 2)
        slots = [Int32](repeating: 0, count: (mask + 1) * 2)
        mask = mask * 2 + 1
        for (tid, slot) in old {
            var i = position(tid)
            while slots[i] != 0 { i = (i + 1) & mask }
            tids[i] = tid
            slots[i] = slot
        }
    }
}
