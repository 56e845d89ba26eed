/// A binary (or the kernel) that samples can land in: perf's "dso".
public struct Dso: Hashable, Sendable {
    /// Index into `ProcessModel.dsos`.
    public let index: Int
    /// The path as the MMAP record named it (`/usr/lib/x86_64-linux-gnu/libc.so.6`, `[kernel.kallsyms]`, `[vdso]`).
    public let path: String
    public let isKernel: Bool

    /// Bracketed names (`[vdso]`, `[heap]`, `[anon:...]`) and anonymous memory have no file to read symbols from.
    public var isFile: Bool { !isKernel && path.hasPrefix("/") }

    /// The vDSO: no file, but an ELF image the kernel provides, addressed by offset like a file.
    public var isVDSO: Bool { path == "[vdso]" }

    /// JIT code of one process, named by its `/tmp/perf-PID.map` (addresses are absolute).
    public var isPerfMap: Bool { path.hasPrefix("/tmp/perf-") && path.hasSuffix(".map") }

    /// Bracketed names (`[vdso]`, `[heap]`, `[anon:...]`) and anonymous memory have no file to read symbols from.
    public var hasFileOffsets: Bool { (isFile && !isPerfMap) || isVDSO }

    /// The last path component, as stackcollapse-perf.pl shows unknown frames (`[libc.so.6]`).
    public var shortName: String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// The name perf gives the kernel's dso.
    public static let kernelPath = "[kernel.kallsyms]"
}

/// Where a location is inside its dso.
public enum DsoAddress: Hashable, Sendable {
    /// An offset into the dso's ELF image (a mapped file, or the vDSO): the same in every process and every run.
    case fileOffset(UInt64)
    /// An address, where the dso has no image to be an offset into: the kernel, and anonymous memory (JIT code,
    /// which a perf map names by address).
    case address(UInt64)

    /// The number either way, for caches and for printing.
    @inline(__always)
    public var value: UInt64 {
        switch self {
        case .fileOffset(let v), .address(let v): return v
        }
    }

    /// The offset into the image, or nil for an address.
    @inline(__always)
    public var fileOffset: UInt64? {
        if case .fileOffset(let o) = self { return o }
        return nil
    }
}
