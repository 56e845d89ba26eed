/// Bounds-checked little-endian reads from record bytes; out-of-range reads return nil instead of trapping.
/// The checks subtract rather than add, so that offsets taken from a corrupt file cannot overflow.
extension UnsafeRawBufferPointer {
    @inline(__always)
    func u64(_ offset: Int) -> UInt64? {
        guard offset >= 0, offset <= count - 8 else { return nil }
        return UInt64(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inline(__always)
    func u32(_ offset: Int) -> UInt32? {
        guard offset >= 0, offset <= count - 4 else { return nil }
        return UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always)
    func u16(_ offset: Int) -> UInt16? {
        guard offset >= 0, offset <= count - 2 else { return nil }
        return UInt16(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    /// A NUL-terminated string starting at `offset`, ending at the NUL or the end of the bytes.
    func cString(_ offset: Int) -> String {
        guard offset >= 0, offset < count else { return "" }
        let tail = UnsafeRawBufferPointer(rebasing: self[offset...])
        let end = tail.firstIndex(of: 0) ?? tail.count
        return String(decoding: UnsafeRawBufferPointer(rebasing: tail[0..<end]), as: UTF8.self)
    }

    /// A sub-range, or nil when it does not fit.
    func slice(_ offset: Int, _ length: Int) -> UnsafeRawBufferPointer? {
        guard offset >= 0, length >= 0, offset <= count, length <= count - offset else { return nil }
        return UnsafeRawBufferPointer(rebasing: self[offset..<(offset + length)])
    }
}
