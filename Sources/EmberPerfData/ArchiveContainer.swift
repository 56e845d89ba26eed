/// The container of an Ember archive (`ember archive`, `perf.data.ember`): the recording and what reading it
/// elsewhere needs, in one file.
///
/// Layout, little-endian: the magic `EMBERARC`; the format version (u32) and flags (u32, 0); the recording's
/// modification time (u64, ns since the epoch: pprof dates profiles by it); a section count (u32) and 4 bytes of
/// padding; then a table of sections, each a kind (u32), 4 bytes of padding, an offset and a length (u64, from the
/// start of the file); then the sections. Kind 1 is the recording, a perf.data image as it was read; kind 2 the
/// symbol facts (`SymbolArchive`); kind 3 the DWARF unwinds (`UnwindArchive`). A reader skips kinds it does not know, so a later version may add sections
/// without breaking this one; a change to an existing section's meaning raises the version, which an older Ember
/// refuses.
public struct ArchiveContainer {
    public static let magic = Array("EMBERARC".utf8)
    /// The format this Ember writes and reads.
    public static let version: UInt32 = 1

    public enum Section: UInt32 {
        case recording = 1
        case symbols = 2
        case unwinds = 3
    }

    public var modificationTime: UInt64
    public var sections: [UInt32: Range<Int>]

    public static func isArchive(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 8 && bytes.prefix(8).elementsEqual(magic)
    }

    /// Reads the header and section table; every range is checked to lie in the file.
    public init(_ bytes: UnsafeRawBufferPointer) throws {
        guard ArchiveContainer.isArchive(bytes), let version = bytes.u32(8), let time = bytes.u64(16), let count = bytes.u32(24) else {
            throw PerfDataError.corrupt("the archive's header is cut short")
        }
        guard version <= ArchiveContainer.version else {
            throw PerfDataError.unsupported("the archive was written by a newer Ember (format \(version); this one reads format \(ArchiveContainer.version)); read it with that Ember")
        }
        modificationTime = time
        sections = [:]
        for i in 0..<Int(min(count, 64)) {
            let at = 32 + i * 24
            guard let kind = bytes.u32(at), let offset = bytes.u64(at + 8), let length = bytes.u64(at + 16),
                  offset <= UInt64(bytes.count), length <= UInt64(bytes.count) - offset else {
                throw PerfDataError.corrupt("the archive's section table points past its end")
            }
            sections[kind] = Int(offset)..<Int(offset + length)
        }
        guard sections[Section.recording.rawValue] != nil else { throw PerfDataError.corrupt("the archive holds no recording") }
    }

    /// An archive of these sections.
    public static func encode(modificationTime: UInt64, sections: [(Section, [UInt8])]) -> [UInt8] {
        var w = ByteWriter()
        w.raw(magic)
        w.u32(version)
        w.u32(0)
        w.u64(modificationTime)
        w.u32(UInt32(sections.count))
        w.u32(0)
        var offset = UInt64(32 + 24 * sections.count)
        for (kind, bytes) in sections {
            w.u32(kind.rawValue)
            w.u32(0)
            w.u64(offset)
            w.u64(UInt64(bytes.count))
            offset += UInt64(bytes.count)
        }
        for (_, bytes) in sections { w.raw(bytes) }
        return w.bytes
    }
}
