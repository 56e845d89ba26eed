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

/// The processes a recording was made for, so that its readers report them and not every process some events
/// were recorded from (`record -a -- CMD`, the wakers of `latency --wakers`): the command (whose process tree is
/// meant) or the `-p` processes. Written after the `EventNamesBlock`, in the same gap perf never
/// reads: the 8 bytes "EMBERTGT", a u64 payload length, then the pids as i32s, zero-padded to 8 bytes.
enum TargetBlock {
    static let magic: [UInt8] = Array("EMBERTGT".utf8)

    static func encode(_ pids: [Int32]) -> [UInt8] {
        guard !pids.isEmpty else { return [] }
        var w = ByteWriter()
        w.raw(magic)
        w.u64(UInt64(pids.count * 4))
        for pid in pids { w.i32(pid) }
        while w.count % 8 != 0 { w.raw([0]) }
        return w.bytes
    }

    /// The pids in `gap` (the bytes between the attrs and the data), after the names block; none without the block.
    static func decode(_ gap: UnsafeRawBufferPointer) -> [Int32] {
        var at = 0
        if gap.count >= 16, gap.prefix(8).elementsEqual(EventNamesBlock.magic), let length = gap.u64(8), length <= UInt64(gap.count) {
            at = 16 + (Int(length) + 7) / 8 * 8
        }
        guard at <= gap.count - 16, gap[at..<(at + 8)].elementsEqual(magic), let length = gap.u64(at + 8),
              length <= UInt64(gap.count - at - 16) else { return [] }
        return stride(from: at + 16, to: at + 16 + Int(length) - 3, by: 4).map { gap.loadUnaligned(fromByteOffset: $0, as: Int32.self) }
    }
}
