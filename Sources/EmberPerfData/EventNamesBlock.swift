/// Ember's copy of the event names, written between the attr section and the data, so that a recording whose
/// feature sections were never written (the recorder was killed) still names its events.
///
/// Layout: the 8 bytes "EMBERNAM", a u64 payload length, then a HEADER_EVENT_DESC payload, zero-padded to 8
/// bytes. perf never reads the gap between the attrs and the data; Ember reads it only when the file has no
/// HEADER_EVENT_DESC.
enum EventNamesBlock {
    static let magic: [UInt8] = Array("EMBERNAM".utf8)

    static func encode(_ eventDescription: [UInt8]) -> [UInt8] {
        var w = ByteWriter()
        w.raw(magic)
        w.u64(UInt64(eventDescription.count))
        w.raw(eventDescription)
        while w.count % 8 != 0 { w.raw([0]) }
        return w.bytes
    }

    /// The HEADER_EVENT_DESC payload in `gap` (the bytes between the attrs and the data), if it holds the block.
    static func decode(_ gap: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard gap.count >= 16, gap.prefix(8).elementsEqual(magic), let length = gap.u64(8),
              length <= UInt64(gap.count - 16) else { return nil }
        return UnsafeRawBufferPointer(rebasing: gap[16..<(16 + Int(length))])
    }
}
