#if FUZZING
import CEmberShim

/// Three mutations in four are libFuzzer's (bytes anywhere); the fourth sets one field of one record of a
/// recording — a time, a pid, an address, a length, a count — to a value that breaks arithmetic: 0, 1, all ones, the
/// top bit, a 32-bit edge, or the old value shifted or offset. A byte flip reaches those only by luck (a corrupt
/// time's overflow went unfound in three minutes of byte mutations); this reaches one in a few thousand runs.
@_cdecl("LLVMFuzzerCustomMutator")
public func fuzzerCustomMutator(_ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    guard let data else { return 0 }
    var random = RecordMutator.Random(seed: seed)
    if random.next() & 3 != 0 || !RecordMutator.corruptField(UnsafeMutableRawBufferPointer(start: data, count: size), &random) {
        return LLVMFuzzerMutate(data, size, maxSize)
    }
    return size
}

enum RecordMutator {
    /// xorshift: the seed libFuzzer gives makes each mutation repeatable.
    struct Random {
        var state: UInt64
        init(seed: UInt32) { state = UInt64(seed) | 1 << 40 }
        mutating func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    }

    /// Sets an 8-byte (or 4-byte) field of a random record of a perf.data file's data section; false for any other
    /// input, or a data section it cannot walk.
    static func corruptField(_ bytes: UnsafeMutableRawBufferPointer, _ random: inout Random) -> Bool {
        guard bytes.count >= 104, bytes.loadUnaligned(as: UInt64.self) == 0x3245_4c49_4652_4550 /* PERFILE2 */ else { return false }
        let dataOffset = bytes.loadUnaligned(fromByteOffset: 40, as: UInt64.self)
        let dataSize = bytes.loadUnaligned(fromByteOffset: 48, as: UInt64.self)
        guard dataOffset < UInt64(bytes.count) else { return false }
        let start = Int(dataOffset), end = Int(min(UInt64(bytes.count), dataOffset &+ (dataSize == 0 ? UInt64(bytes.count) : dataSize)))
        var records: [(offset: Int, size: Int)] = []
        var at = start
        while at + 8 <= end {
            let size = Int(bytes.loadUnaligned(fromByteOffset: at + 6, as: UInt16.self))
            guard size >= 8, at + size <= end else { break }
            if size >= 16 { records.append((at, size)) }
            at += size
        }
        guard !records.isEmpty else { return false }
        let record = records[random.below(records.count)]
        let wide = random.next() & 3 != 0
        let width = wide ? 8 : 4
        var slots = (record.size - 8) / width
        var field: Int?
        if bytes.loadUnaligned(fromByteOffset: record.offset, as: UInt32.self) == 9 /* SAMPLE */ {
            // Often a sample's first fields, where the values every reader does arithmetic on stand (the identifier,
            // ip, pid and tid, time, address, cpu, period), and above all its time, which every wait is made of.
            switch random.next() & 3 {
            case 0: field = timeOffset(bytes).map { record.offset + $0 }
            case 1: slots = min(slots, 64 / width)
            default: break
            }
        }
        guard slots > 0 else { return false }
        if let f = field, f + 8 > record.offset + record.size { field = nil }
        let chosen = field ?? record.offset + 8 + random.below(slots) * width
        if wide || field != nil {
            let old = bytes.loadUnaligned(fromByteOffset: chosen, as: UInt64.self)
            let values: [UInt64] = [0, 1, .max, .max - 1, 1 << 63, (1 << 63) - 1, 1 << 32, UInt64(UInt32.max), old &+ 1, old &- 1,
                                    old << 32, old | 1 << 63, old &* 1000, old >> 1]
            bytes.storeBytes(of: values[random.below(values.count)], toByteOffset: chosen, as: UInt64.self)
        } else {
            let old = bytes.loadUnaligned(fromByteOffset: chosen, as: UInt32.self)
            let values: [UInt32] = [0, 1, .max, .max - 1, 1 << 31, (1 << 31) - 1, 1 << 16, old &+ 1, old &- 1, old | 1 << 31]
            bytes.storeBytes(of: values[random.below(values.count)], toByteOffset: chosen, as: UInt32.self)
        }
        return true
    }

    /// Where a sample's time stands (from its record's start), by the first attr's sample_type: after the identifier,
    /// ip and pid/tid that come before it; nil without times.
    private static func timeOffset(_ bytes: UnsafeMutableRawBufferPointer) -> Int? {
        let attrs = bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
        guard attrs < UInt64(bytes.count - 32) else { return nil }
        let sampleType = bytes.loadUnaligned(fromByteOffset: Int(attrs) + 24, as: UInt64.self)
        guard sampleType & 1 << 2 != 0 else { return nil }
        return 8 + [1 << 16, 1 << 0, 1 << 1].filter { sampleType & $0 != 0 }.count * 8
    }
}
#endif
