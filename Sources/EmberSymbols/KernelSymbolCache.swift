import EmberKernel
#if canImport(Glibc)
import Glibc
#endif

/// Parsed kernel symbols kept in the cache directory (`CacheDirectory`), named after the running
/// kernel's build-id and a hash of `/proc/modules`, so a reboot into another kernel or a module (re)load misses.
struct KernelSymbolCache {
    let path: String

    init?() {
        guard let notes = readSmallFileBytes("/sys/kernel/notes"), !notes.isEmpty else { return nil }
        // Module names and sizes, not the use counts that change as devices open and close.
        let modules = (readSmallFile("/proc/modules") ?? "").split(separator: "\n")
            .map { $0.split(separator: " ").prefix(2).joined(separator: " ") }.joined(separator: "\n")
        let boot = readSmallFileBytes("/proc/sys/kernel/random/boot_id") ?? []
        let key = KernelSymbolCache.fnv1a(notes + Array(modules.utf8) + boot)
        guard let base = CacheDirectory.path else { return nil }
        // The version names what is kept (v4: __pfx_ padding symbols named, as perf names them; of aliases at
        // one address the last listed).
        path = base + "/kallsyms-v4-" + String(key, radix: 16) + ".bin"
    }

    /// Reads the table from a mapping of the file (populated at once): no copy through a read buffer, which cost
    /// every command that meets kernel frames a few milliseconds.
    func load() -> SymbolTable? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size > 0, info.st_size <= 512 << 20 else { return nil }
        let size = Int(info.st_size)
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0), mapped != MAP_FAILED else { return nil }
        defer { munmap(mapped, size) }
        return SymbolTable(serialized: UnsafeRawBufferPointer(start: mapped, count: size))
    }

    /// Writes the cache atomically (a temporary file renamed into place); failures only cost the next reader time.
    func store(_ table: SymbolTable) {
        let dir = String(path[..<path.lastIndex(of: "/")!])
        let name = String(path[path.index(after: path.lastIndex(of: "/")!)...])
        guard CacheDirectory.store(table.serialized(), as: name) else { return }
        // One kernel's symbols at a time: earlier kernels' and module sets' files go.
        for old in directoryEntries(dir) where old.hasPrefix("kallsyms-") && old.hasSuffix(".bin") && old != name { unlink(dir + "/" + old) }
    }

    private static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}
