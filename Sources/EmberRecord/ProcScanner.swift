import EmberKernel
import EmberPerfData
import EmberSymbols
#if canImport(Glibc)
import Glibc
#endif

/// Reads what already exists from /proc, so that samples of processes started before the recording symbolize.
public enum ProcScanner {
    /// Thread ids of a process (`/proc/PID/task`).
    static func threads(of pid: Int32) -> [Int32] {
        let tids = directoryNumbers("/proc/\(pid)/task")
        return tids.isEmpty ? [pid] : tids
    }

    /// Every process id.
    static func allProcesses() -> [Int32] { directoryNumbers("/proc") }

    /// The process a thread belongs to (`Tgid` in `/proc/TID/status`), nil when there is no such thread.
    static func process(ofThread tid: Int32) -> Int32? {
        guard let status = readSmallFile("/proc/\(tid)/status"),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Tgid:") }) else { return nil }
        return Int32(String(line.dropFirst(5)).trimmed)
    }

    public static func exists(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }

    static func comm(pid: Int32, tid: Int32) -> String? {
        readSmallFile("/proc/\(pid)/task/\(tid)/comm").map { String($0.prefix { $0 != "\n" }) }
    }

    /// Executable mappings from `/proc/PID/maps` (file-backed data mappings too with `includeData`), as MMAP2
    /// records.
    static func mappings(pid: Int32, includeData: Bool) -> [MmapRecord] {
        guard let text = readSmallFile("/proc/\(pid)/maps") else { return [] }
        var out: [MmapRecord] = []
        for line in text.split(separator: "\n") {
            // start-end perms offset major:minor inode   path
            let f = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard f.count >= 5, f[1].count >= 4 else { continue }
            let executable = Array(f[1].utf8)[2] == UInt8(ascii: "x")
            guard executable || (includeData && f.count > 5 && f[5].hasPrefix("/")) else { continue }
            let range = f[0].split(separator: "-")
            let dev = f[3].split(separator: ":")
            guard range.count == 2, let start = UInt64(range[0], radix: 16), let end = UInt64(range[1], radix: 16),
                  let offset = UInt64(f[2], radix: 16), dev.count == 2, let major = UInt32(dev[0], radix: 16),
                  let minor = UInt32(dev[1], radix: 16), let inode = UInt64(f[4]) else { continue }
            let path = f.count > 5 ? f[5].trimmed : "//anon"
            let perms = Array(f[1].utf8)
            var prot: UInt32 = executable ? 4 : 0
            if perms[0] == UInt8(ascii: "r") { prot |= 1 }
            if perms[1] == UInt8(ascii: "w") { prot |= 2 }
            let flags: UInt32 = perms[3] == UInt8(ascii: "s") ? 1 : 2  // MAP_SHARED : MAP_PRIVATE
            out.append(MmapRecord(pid: pid, tid: pid, start: start, length: end - start, pageOffset: offset,
                                  protection: prot, flags: flags, device: (major, minor), inode: inode,
                                  filename: path))
        }
        return out
    }

    /// The kernel image's text for its MMAP record: from `_text` up to where x86_64 maps modules
    /// (`MODULES_VADDR`), the extent perf gives the kernel map.
    static func kernelText() -> (start: UInt64, length: UInt64)? {
        guard let start = KernelSymbols.runningTextStart() else { return nil }
        let modules: UInt64 = 0xffff_ffff_c000_0000
        return (start, start < modules ? modules - start : 1 << 30)
    }

    private static func directoryNumbers(_ path: String) -> [Int32] {
        directoryEntries(path).compactMap { Int32($0) }.sorted()
    }
}
