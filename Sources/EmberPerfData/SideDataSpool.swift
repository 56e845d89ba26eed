import EmberKernel
#if canImport(Glibc)
import Glibc
#endif

/// The side data of a file being written (`SampleSideData`), spooled to an unlinked temporary file beside it so
/// that memory stays fixed however long the recording runs, and copied into the file's last feature section at the
/// end. Entries name their sample by its file offset, so they wait in memory until the records they belong to are
/// written (`commit`); a failed write drops them with those records (`discardPending`).
final class SideDataSpool {
    let regsMask: UInt64
    private let fd: Int32
    private var pending = ByteWriter()
    private var pendingEntries: UInt64 = 0
    private(set) var entries: UInt64 = 0
    /// Entries given up after writing the spool failed.
    private(set) var lost: UInt64 = 0
    private(set) var bytes: UInt64 = 0
    /// Writing the spool failed (a full disk): the side data is given up, the samples stand without it.
    private(set) var failed = false

    /// nil when no unnamed file can be made beside `path` or in /tmp.
    init?(beside path: String, regsMask: UInt64) {
        let fd = OutputFile.unnamedScratch(beside: path)
        guard fd >= 0 else { return nil }
        self.fd = fd
        self.regsMask = regsMask
    }

    deinit { close(fd) }

    /// An entry whose bytes are `head` then `block` (each a multiple of 8 bytes long).
    func append(_ kind: SampleSideData.Kind, key: UInt64, head: [UInt8] = [], block: UnsafeRawBufferPointer) {
        guard !failed else {
            lost += 1
            return
        }
        pending.u32(kind.rawValue)
        pending.u32(0)
        pending.u64(key)
        pending.u64(UInt64(head.count + block.count))
        pending.raw(head)
        pending.raw(block)
        pendingEntries += 1
    }

    /// The records of the pending entries are in the file: so are the entries, in the spool.
    func commit() {
        guard !failed, !pending.bytes.isEmpty else { return }
        do {
            try pending.bytes.withUnsafeBytes { try EmberKernel.writeAll(fd: fd, $0) }
            entries += pendingEntries
            bytes += UInt64(pending.count)
        } catch {
            failed = true
            lost += pendingEntries
        }
        pending = ByteWriter()
        pendingEntries = 0
    }

    func discardPending() {
        pending = ByteWriter()
        pendingEntries = 0
    }

    /// The section's bytes after its header, in pieces of at most a MiB.
    func forEachPiece(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let piece = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 8)
        defer { piece.deallocate() }
        var at: UInt64 = 0
        while at < bytes {
            let n = pread(fd, piece, Int(min(bytes - at, 1 << 20)), off_t(at))
            guard n > 0 else { throw Errno(n == 0 ? EIO : errno) }
            try body(UnsafeRawBufferPointer(start: piece, count: n))
            at += UInt64(n)
        }
    }
}
