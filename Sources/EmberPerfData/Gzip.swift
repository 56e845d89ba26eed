import CGzip

/// gzip compression (through zlib), for the files that travel compressed: pprof profiles and Firefox Profiler
/// profiles.
public enum Gzip {
    public struct CompressionFailed: Error, CustomStringConvertible {
        public var description: String { "gzip compression failed" }
    }

    /// `level` as zlib's: 1 fastest, 9 smallest, -1 zlib's default (6).
    public static func compress(_ bytes: [UInt8], level: Int32 = -1) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        let size = bytes.withUnsafeBytes { ember_gzip($0.baseAddress, $0.count, level, &out) }
        guard size > 0, let out else { throw CompressionFailed() }
        defer { out.deallocate() }
        return Array(UnsafeBufferPointer(start: out, count: size))
    }
}
