/// Parts of samples that Ember keeps beside them rather than in them: the user registers and stack copy of a
/// frame-pointer recording that repairs its leaves (`--call-graph fp`). In the samples, perf would take them for a
/// DWARF call graph and append its own unwind of a 512-byte copy to the kernel's chain; here, in a feature section
/// perf never reads (`Feature.emberSideData`), the file's samples are plain frame-pointer samples to perf, and
/// Ember's readers put the blocks back (`PerfDataFile.sideBlocks(of:)`).
///
/// Layout, little-endian: `magic` "EMBRSIDE", u32 version (1), u32 0, u64 the registers' mask (`sample_regs_user`),
/// u64 entries; then per entry: u32 its kind, u32 0, u64 its key, u64 its length (a multiple of 8) and that many
/// bytes. Kind 1 (`userParts`): the key is the sample record's file offset, the bytes the sample's
/// PERF_SAMPLE_REGS_USER and PERF_SAMPLE_STACK_USER parts exactly as the kernel wrote them. A reader skips kinds it
/// does not know, so that later kinds (other per-sample captures) need no new version.
public enum SampleSideData {
    public static let magic: UInt64 = 0x4544_4953_5242_4D45  // "EMBRSIDE"
    public static let version: UInt32 = 1
    public static let headerSize = 32
    public static let entryHeaderSize = 24

    public enum Kind: UInt32 {
        /// A sample's REGS_USER and STACK_USER parts, keyed by the record's file offset.
        case userParts = 1
    }

    public static func header(regsMask: UInt64, entries: UInt64) -> [UInt8] {
        var w = ByteWriter()
        w.u64(magic)
        w.u32(version)
        w.u32(0)
        w.u64(regsMask)
        w.u64(entries)
        return w.bytes
    }

    /// The user parts of a section, by the file offset of their sample record; nil when the section is not one
    /// Ember wrote (another magic or version). Entries that run past the section end the reading.
    static func index(_ section: UnsafeRawBufferPointer, sectionStart: Int) -> (regsMask: UInt64, blocks: [Int: Range<Int>])? {
        guard let m = section.u64(0), m == magic, let v = section.u32(8), v == version,
              let mask = section.u64(16), let count = section.u64(24) else { return nil }
        var blocks: [Int: Range<Int>] = [:]
        blocks.reserveCapacity(Int(min(count, UInt64(section.count / 24))))
        var at = headerSize
        for _ in 0..<count {
            guard let kind = section.u32(at), let key = section.u64(at + 8), let length = section.u64(at + 16),
                  length <= UInt64(section.count - at - entryHeaderSize) else { break }
            let start = at + entryHeaderSize
            if kind == Kind.userParts.rawValue { blocks[Int(clamping: key)] = (sectionStart + start)..<(sectionStart + start + Int(length)) }
            at = start + Int(length)
        }
        return (mask, blocks)
    }
}
