import CEmberShim
#if canImport(Glibc)
import Glibc
#endif

/// Reads another process's memory with `process_vm_readv(2)`: no ptrace stop, no file descriptor, the thread runs on.
public enum RemoteMemory {
    /// Copies up to `buffer.count` bytes from `address` of process (or thread) `pid` into `buffer`; the number of
    /// bytes read, which ends early at the first page that is not mapped readable (the end of a stack mapping), or
    /// nil when nothing could be read (the process is gone, or reading it is not allowed).
    public static func read(pid: Int32, address: UInt64, into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        // The kernel reads an iovec whole or not at all: one per page, so that a read ends at the mapping's end
        // with what came before it, not with nothing.
        let page: UInt64 = 4096
        var remote: [iovec] = []
        var at = address, end = address + UInt64(buffer.count)
        end = min(end, address + page * 1024)  // IOV_MAX pieces
        while at < end {
            let next = min((at / page + 1) * page, end)
            remote.append(iovec(iov_base: UnsafeMutableRawPointer(bitPattern: UInt(at)), iov_len: Int(next - at)))
            at = next
        }
        let n = remote.withUnsafeBufferPointer { ember_process_vm_readv(pid_t(pid), base, Int(end - address), $0.baseAddress, UInt($0.count)) }
        return n > 0 ? n : nil
    }
}
