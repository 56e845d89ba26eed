/// Parts of samples that Ember keeps beside them rather than in them: the user registers and stack copy of a
/// frame-pointer recording that repairs its leaves (`--call-graph fp`). In the samples, perf would take them for a
/// DWARF call graph and append its own unwind of a 512-byte copy to the kernel's chain; here, in a feature section
/// perf never reads (`Feature.emberSideData`), the file's samples are plain frame-pointer samples to perf, and
/// Ember's readers put the blocks back (`PerfDataFile.sideBlocks(of:)`). Also what a sample could not carry: the
/// rest of a thread's stack beyond a DWARF sample's copy, read at drain time (`StackTail`).
///
/// Layout, little-endian: `magic` "EMBRSIDE", u32 version (1), u32 0, u64 the registers' mask (`sample_regs_user`),
/// u64 entries; then per entry: u32 its kind, u32 0, u64 its key, u64 its length (a multiple of 8) and that many
/// bytes. Kind 1 (`userParts`): the key is the sample record's file offset, the bytes the sample's
/// PERF_SAMPLE_REGS_USER and PERF_SAMPLE_STACK_USER parts exactly as the kernel wrote them. Kind 2 (`stackTail`):
/// the key is a thread id; the bytes are u64 the first and u64 the last file offset of the samples it serves (that
/// thread's in one drain of the rings), u64 the address the stack bytes start at, then those bytes. Kind 3
/// (`stackTailPart`): as kind 2, then u64 the file offset of a sample whose kind-2 tail (of the same thread) holds
/// the stack above these bytes, then the bytes: successive tails of a thread share their callers' part, kept once.
/// Kind 4 (`asyncChains`): the key is the sample record's file offset; the bytes are Swift async context chains
/// taken with it: per chain, u64 its number of contexts n, then n pairs of u64 {context address, its
/// ResumeParent}, each context's Parent being the next. A reader skips kinds it does not know, so that later kinds
/// (other per-sample captures) need no new version.
public enum SampleSideData {
    public static let magic: UInt64 = 0x4544_4953_5242_4D45  // "EMBRSIDE"
    public static let version: UInt32 = 1
    public static let headerSize = 32
    public static let entryHeaderSize = 24

    public enum Kind: UInt32 {
        /// A sample's REGS_USER and STACK_USER parts, keyed by the record's file offset.
        case userParts = 1
        /// A thread's stack above its samples' copies, keyed by the thread id.
        case stackTail = 2
        /// The lower part of such a tail, whose upper part another tail of the thread holds.
        case stackTailPart = 3
        /// A sample's Swift async context chains, keyed by the record's file offset.
        case asyncChains = 4
    }

    /// A stack tail's entry: the file offsets of the samples it serves, where its bytes start in the process and
    /// lie in the file, and for a part, the sample whose whole tail holds the rest.
    struct TailEntry {
        var samples: ClosedRange<Int>
        var address: UInt64
        var bytes: Range<Int>
        var restOf: Int?
    }

    /// What a file's section holds, found by `index`.
    struct Index {
        var regsMask: UInt64
        /// User parts by the file offset of their sample record.
        var blocks: [Int: Range<Int>] = [:]
        /// Stack tails by thread, in file order.
        var tails: [Int32: [TailEntry]] = [:]
        /// Async chains by the file offset of their sample record.
        var chains: [Int: Range<Int>] = [:]
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

    /// The entries of a section, as file ranges; nil when the section is not one Ember wrote (another magic or
    /// version). Entries that run past the section end the reading.
    static func index(_ section: UnsafeRawBufferPointer, sectionStart: Int) -> Index? {
        guard let m = section.u64(0), m == magic, let v = section.u32(8), v == version,
              let mask = section.u64(16), let count = section.u64(24) else { return nil }
        var index = Index(regsMask: mask)
        index.blocks.reserveCapacity(Int(min(count, UInt64(section.count / 24))))
        var at = headerSize
        for _ in 0..<count {
            guard let kind = section.u32(at), let key = section.u64(at + 8), let length = section.u64(at + 16),
                  length <= UInt64(section.count - at - entryHeaderSize) else { break }
            let start = at + entryHeaderSize
            switch Kind(rawValue: kind) {
            case .userParts:
                index.blocks[Int(clamping: key)] = (sectionStart + start)..<(sectionStart + start + Int(length))
            case .stackTail, .stackTailPart:
                let head = kind == Kind.stackTail.rawValue ? 24 : 32
                if length >= UInt64(head), let first = section.u64(start), let last = section.u64(start + 8), first <= last,
                   let address = section.u64(start + 16) {
                    let restOf = head == 32 ? section.u64(start + 24).map { Int(clamping: $0) } : nil
                    index.tails[Int32(truncatingIfNeeded: key), default: []].append(TailEntry(
                        samples: Int(clamping: first)...Int(clamping: last), address: address,
                        bytes: (sectionStart + start + head)..<(sectionStart + start + Int(length)), restOf: restOf))
                }
            case .asyncChains:
                index.chains[Int(clamping: key)] = (sectionStart + start)..<(sectionStart + start + Int(length))
            case nil:
                break
            }
            at = start + Int(length)
        }
        return index
    }
}
