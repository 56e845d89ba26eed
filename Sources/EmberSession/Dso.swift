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
