#if canImport(Glibc)
import Glibc
#endif

/// The perf sysctls whose values Ember names in its advice.
public enum Sysctl: String, Sendable {
    case perfEventParanoid = "kernel.perf_event_paranoid"
    case perfEventMaxSampleRate = "kernel.perf_event_max_sample_rate"
    case perfEventMlockKB = "kernel.perf_event_mlock_kb"
    case perfEventMaxStack = "kernel.perf_event_max_stack"
    case kptrRestrict = "kernel.kptr_restrict"

    public var path: String { "/proc/sys/" + String(rawValue.map { $0 == "." ? "/" : $0 }) }

    /// The current integer value, or nil when unreadable.
    public var value: Int? {
        guard let text = readSmallFile(path) else { return nil }
        return Int(text.trimmed)
    }
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

extension StringProtocol {
    /// The text without leading and trailing whitespace.
    public var trimmed: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
