#if canImport(Glibc)
import Glibc
#endif

/// `path` with its symbolic links and `.`/`..` resolved, absolute; nil when it does not exist.
public func resolvedPath(_ path: String) -> String? {
    guard let resolved = realpath(path, nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
}

/// Reads a small text file (procfs, sysfs) whole; nil when it cannot be opened.
public func readSmallFile(_ path: String, limit: Int = 1 << 20) -> String? {
    readSmallFileBytes(path, limit: limit).map { String(decoding: $0, as: UTF8.self) }
}

/// Reads up to `limit` bytes of a file whole: in one read when stat knows its size, else (procfs, sysfs, which
/// report 0) in chunks.
public func readSmallFileBytes(_ path: String, limit: Int = 1 << 20) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var st = stat()
    let known = fstat(fd, &st) == 0 && st.st_size > 0 ? min(Int(st.st_size), limit) : 0
    var bytes = [UInt8](unsafeUninitializedCapacity: max(known, 1 << 16)) { buffer, count in
        count = 0
        while count < buffer.count {
            let n = read(fd, buffer.baseAddress! + count, buffer.count - count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            count += n
        }
    }
    guard known == 0 || bytes.count < known else { return bytes }
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while bytes.count < limit {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return bytes
}

/// The names in a directory (without `.` and `..`), only subdirectories with `directoriesOnly`; empty when it
/// cannot be read.
public func directoryEntries(_ path: String, directoriesOnly: Bool = false) -> [String] {
    guard let dir = opendir(path) else { return [] }
    defer { closedir(dir) }
    var out: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard name != ".", name != ".." else { continue }
        if directoriesOnly, entry.pointee.d_type != UInt8(DT_DIR) { continue }
        out.append(name)
    }
    return out
}

/// Writes all of `bytes` to `fd`, retrying short writes and EINTR; the errno of a failed write.
public func writeAll(fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(Errno) {
    var done = 0
    while done < bytes.count {
        let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
        if n < 0 {
            if errno == EINTR { continue }
            throw Errno.current
        }
        done += n
    }
}

/// CLOCK_MONOTONIC in seconds.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Reads an input a reader was given — a file, or standard input for `-` — whole, but looks at its first
/// `head` bytes before reading on: `check` refuses what is not the expected kind (`/dev/zero` piped in, a binary
/// where text belongs) before a byte more is held. Directories and other non-files are refused by name.
public func readInput(_ path: String, head: Int, check: ([UInt8]) throws -> Void) throws -> [UInt8] {
    let fd = path == "-" ? 0 : open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard fd >= 0 else { throw InputError.cannotOpen(path: path, errno: Errno.current) }
    defer { if fd != 0 { close(fd) } }
    var st = stat()
    if fd != 0 {
        guard fstat(fd, &st) == 0 else { throw InputError.cannotOpen(path: path, errno: Errno.current) }
        guard st.st_mode & S_IFMT == S_IFREG else { throw InputError.notAFile(path: path, isDirectory: st.st_mode & S_IFMT == S_IFDIR) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
    }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    var checked = false
    while true {
        let want = checked ? chunk.count : head - bytes.count
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, want) }
        if n < 0 && errno == EINTR { continue }
        if n < 0 { throw InputError.cannotOpen(path: path, errno: Errno.current) }
        if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
        if !checked, n == 0 || bytes.count >= head {
            try check(bytes)
            checked = true
        }
        if n == 0 { return bytes }
    }
}

/// Why an input could not be read.
public enum InputError: Error, CustomStringConvertible {
    case cannotOpen(path: String, errno: Errno)
    case notAFile(path: String, isDirectory: Bool)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let e): return "cannot read \(path == "-" ? "standard input" : path): \(e)"
        case .notAFile(let path, let isDirectory):
            return "\(path) is \(isDirectory ? "a directory" : "not a regular file"); give a file (or - for standard input)"
        }
    }
}
