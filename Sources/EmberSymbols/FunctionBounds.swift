import CElfUtils
#if canImport(Glibc)
import Glibc
#endif

/// Where functions begin and end by a binary's call-frame information, for code its symbol table does not name:
/// a stripped binary's own functions, which `annotate` can then still show. Each FDE covers one function: its
/// start is in `.eh_frame_hdr`'s search table, its end where the last of its CFI rows ends.
final class FunctionBounds {
    private let handle: ElfHandle
    private let cfi: OpaquePointer
    /// Every FDE's first address, sorted (the search table's order).
    private let starts: [UInt64]
    /// The ranges found so far: a profile's samples fall in few functions, looked up again and again.
    private var found: [Range<UInt64>] = []

    init?(image: ElfImage) {
        guard let header = image.ehFrameHeader, let starts = FunctionBounds.starts(image.path, header), !starts.isEmpty,
              let handle = try? ElfHandle(path: image.path), let cfi = dwarf_getcfi_elf(handle.elf) else { return nil }
        self.handle = handle
        self.cfi = cfi
        self.starts = starts
    }

    deinit { dwarf_cfi_end(cfi) }

    /// The function that covers `address` (an ELF virtual address), or nil.
    func range(containing address: UInt64) -> Range<UInt64>? {
        if let known = found.first(where: { $0.contains(address) }) { return known }
        var lo = 0, hi = starts.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if starts[mid] <= address { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        let start = starts[lo - 1], limit = lo < starts.count ? starts[lo] : UInt64.max
        // The FDE's rows follow each other from its start to its end; past the end is a gap or the next FDE.
        var end = start
        while end < limit, let row = row(at: end), row.lowerBound <= end, row.upperBound > end { end = min(row.upperBound, limit) }
        guard address < end else { return nil }
        found.append(start..<end)
        return start..<end
    }

    private func row(at address: UInt64) -> Range<UInt64>? {
        var frame: OpaquePointer? = nil
        guard dwarf_cfi_addrframe(cfi, address, &frame) == 0, let frame else { return nil }
        defer { free(UnsafeMutableRawPointer(frame)) }
        var start: Dwarf_Addr = 0, end: Dwarf_Addr = 0
        guard dwarf_frame_info(frame, &start, &end, nil) >= 0, start < end else { return nil }
        return start..<end
    }

    /// `.eh_frame_hdr`'s search table: the FDEs' initial locations, as compilers write it (a 4-byte `eh_frame_ptr`
    /// and count, and the table `DW_EH_PE_datarel | DW_EH_PE_sdata4`, relative to the header); nil for another layout.
    private static func starts(_ path: String, _ header: ElfImage.Segment) -> [UInt64]? {
        guard header.fileSize >= 12, header.fileSize <= 64 << 20 else { return nil }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: Int(header.fileSize))
        guard bytes.withUnsafeMutableBytes({ pread(fd, $0.baseAddress, $0.count, off_t(header.fileOffset)) }) == bytes.count,
              bytes[0] == 1, bytes[1] & 0x0f == 0x0b || bytes[1] & 0x0f == 0x03, bytes[2] == 0x03, bytes[3] == 0x3b else { return nil }
        return bytes.withUnsafeBytes { raw -> [UInt64]? in
            let count = Int(raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian)
            guard count <= (raw.count - 12) / 8 else { return nil }
            return (0..<count).map { i in
                let relative = Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 12 + i * 8, as: Int32.self)))
                return UInt64(bitPattern: Int64(bitPattern: header.virtualAddress) &+ relative)
            }
        }
    }
}
