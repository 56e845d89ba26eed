import CBPF
import EmberKernel

/// A map of a loaded `BPFObject`, read and written through its file descriptor (which the object owns). Keys and
/// values are the C structs of the shared headers (`CBPF`), checked against the map's sizes.
public struct BPFMap {
    public let name: String
    let fd: Int32
    let keySize: Int
    let valueSize: Int

    public func update<Key, Value>(_ key: Key, _ value: Value) throws {
        precondition(MemoryLayout<Key>.size == keySize && MemoryLayout<Value>.size == valueSize, "\(name): key or value type of the wrong size")
        var k = key, v = value
        guard bpf_map_update_elem(fd, &k, &v, UInt64(BPF_ANY)) == 0 else { throw BPFError.mapAccess(map: name, Errno.current) }
    }

    /// Every entry, in the map's own order. Entries added or removed while it is read may be missed, as with any
    /// walk of a live map: read after the programs stop, or accept it.
    public func entries<Key, Value>(_: Key.Type, _: Value.Type) throws -> [(key: Key, value: Value)] {
        precondition(MemoryLayout<Key>.size == keySize && MemoryLayout<Value>.size == valueSize, "\(name): key or value type of the wrong size")
        var out: [(key: Key, value: Value)] = []
        let key = UnsafeMutableRawPointer.allocate(byteCount: keySize, alignment: 8)
        let next = UnsafeMutableRawPointer.allocate(byteCount: keySize, alignment: 8)
        let value = UnsafeMutableRawPointer.allocate(byteCount: valueSize, alignment: 8)
        defer { key.deallocate(); next.deallocate(); value.deallocate() }
        var previous: UnsafeMutableRawPointer? = nil
        while bpf_map_get_next_key(fd, previous, next) == 0 {
            // An entry deleted between the two calls is skipped.
            if bpf_map_lookup_elem(fd, next, value) == 0 {
                out.append((next.loadUnaligned(as: Key.self), value.loadUnaligned(as: Value.self)))
            }
            key.copyMemory(from: next, byteCount: keySize)
            previous = key
        }
        // The walk ends at ENOENT; anything else is a map that cannot be read.
        let end = Errno.current
        guard end == .noEntry else { throw BPFError.mapAccess(map: name, end) }
        return out
    }
}
