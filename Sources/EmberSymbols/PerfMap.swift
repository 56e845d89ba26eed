import EmberKernel

/// `/tmp/perf-PID.map`, the file JIT compilers write for perf: one `START SIZE name` line (hex) per function.
enum PerfMap {
    static func load(_ path: String) -> SymbolTable? {
        guard let bytes = readSmallFileBytes(path, limit: 1 << 30) else { return nil }
        var builder = SymbolTable.Builder()
        for line in bytes.split(separator: 0x0a) {
            let fields = line.split(separator: 0x20, maxSplits: 2, omittingEmptySubsequences: true)
            guard fields.count == 3, let start = hex(fields[0]), let size = hex(fields[1]) else { continue }
            fields[2].withUnsafeBytes { builder.add(start: start, size: size, name: $0, binding: .global) }
        }
        return SymbolTable(builder)
    }

    private static func hex(_ field: ArraySlice<UInt8>) -> UInt64? {
        var text = String(decoding: field, as: UTF8.self)
        if text.hasPrefix("0x") { text.removeFirst(2) }
        return UInt64(text, radix: 16)
    }
}
