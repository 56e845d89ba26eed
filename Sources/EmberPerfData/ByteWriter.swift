/// Little-endian encoding into a growing byte array, for headers, feature sections and synthesized records.
public struct ByteWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public var count: Int { bytes.count }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func i32(_ v: Int32) { u32(UInt32(bitPattern: v)) }
    public mutating func raw(_ v: [UInt8]) { bytes.append(contentsOf: v) }
    public mutating func raw(_ v: UnsafeRawBufferPointer) { bytes.append(contentsOf: v) }

    /// Appends `text`, a NUL, and zeros up to a multiple of `alignment`.
    public mutating func cString(_ text: String, paddedTo alignment: Int) {
        bytes.append(contentsOf: text.utf8)
        bytes.append(0)
        pad(to: alignment)
    }

    public mutating func pad(to alignment: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }

    /// perf's `do_write_string`: a u32 length (NUL and padding to 64 included) followed by the padded bytes.
    public mutating func perfString(_ text: String) {
        let length = (text.utf8.count + 1 + 63) / 64 * 64
        u32(UInt32(length))
        bytes.append(contentsOf: text.utf8)
        bytes.append(contentsOf: [UInt8](repeating: 0, count: length - text.utf8.count))
    }

    /// Overwrites the u16 at `offset` (a record's size field once its body is known).
    public mutating func patchU16(at offset: Int, _ v: UInt16) {
        bytes[offset] = UInt8(v & 0xff)
        bytes[offset + 1] = UInt8(v >> 8)
    }
}
