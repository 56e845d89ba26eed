/// An open-addressing hash map from UInt64 keys to Int32 values, for the per-frame lookups of folding: Swift's
/// Dictionary hashes with seeded SipHash, which costs more than the rest of folding a frame put together.
public struct IntegerMap {
    private static let empty = UInt64.max
    private var keys: [UInt64]
    private var values: [Int32]
    private var mask: Int
    public private(set) var count = 0

    public init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: IntegerMap.empty, count: size)
        values = [Int32](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always)
    private static func slot(_ key: UInt64, _ mask: Int) -> Int {
        // A multiplicative mix (Fibonacci hashing) spreads packed keys whose low bits repeat.
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    /// The value for `key`. `UInt64.max` marks an empty slot, so that key is never kept (a corrupt file can make a
    /// location key of all ones): it is always a miss, and its caller works the value out each time.
    @inline(__always)
    public subscript(key: UInt64) -> Int32? {
        var i = IntegerMap.slot(key, mask)
        while true {
            let k = keys[i]
            if k == IntegerMap.empty { return nil }
            if k == key { return values[i] }
            i = (i + 1) & mask
        }
    }

    @inline(__always)
    public mutating func insert(_ value: Int32, for key: UInt64) {
        guard key != IntegerMap.empty else { return }
        if (count + 1) * 2 > keys.count { grow() }
        var i = IntegerMap.slot(key, mask)
        while keys[i] != IntegerMap.empty && keys[i] != key { i = (i + 1) & mask }
        if keys[i] == IntegerMap.empty { count += 1 }
        keys[i] = key
        values[i] = value
    }

    private mutating func grow() {
        let oldKeys = keys, oldValues = values
        keys = [UInt64](repeating: IntegerMap.empty, count: oldKeys.count * 2)
        values = [Int32](repeating: 0, count: oldKeys.count * 2)
        mask = keys.count - 1
        count = 0
        for (k, v) in zip(oldKeys, oldValues) where k != IntegerMap.empty { insert(v, for: k) }
    }
}
