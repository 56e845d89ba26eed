import EmberKernel
#if canImport(Glibc)
import Glibc
#endif

/// The inline chains of one binary's addresses as `DwarfModule.functions(at:)` found them, kept in the cache
/// directory under the binary's build-id: a later reading of a recording of the same binary takes them from here
/// instead of opening (and decompressing) its DWARF and walking its units again. The file name also carries the
/// size and time of the binary's debug file under `/usr/lib/debug/.build-id` (or its absence), so installing
/// debug symbols later starts afresh.
final class InlineChainCache {
    private static let magic: UInt64 = 0x3130_4c4e_4942_4d45  // "EMBINL01"
    /// Addresses kept per binary, at most: a profile touches thousands.
    private static let capacity = 1 << 20

    private let directory: String
    private let name: String
    private let prefix: String
    private var chains: [UInt64: [InlineFrame]] = [:]
    private var added = 0

    init?(buildID: [UInt8], debugRoot: String) {
        guard buildID.count > 1, let directory = CacheDirectory.path else { return nil }
        let hex = hexString(buildID)
        var st = stat()
        let debug = stat(Symbolizer.debugPath(buildID: buildID, root: debugRoot), &st) == 0 ? "\(String(st.st_size, radix: 16))\(String(st.st_mtim.tv_sec, radix: 16))" : "0"
        self.directory = directory
        prefix = "inline-v1-\(hex)-"
        name = prefix + debug + ".bin"
        if let bytes = readSmallFileBytes(directory + "/" + name, limit: 256 << 20) {
            chains = bytes.withUnsafeBytes { InlineChainCache.decode($0) } ?? [:]
        }
    }

    func chain(at address: UInt64) -> [InlineFrame]? { chains[address] }

    func store(_ chain: [InlineFrame], at address: UInt64) {
        guard chains.count < InlineChainCache.capacity, chains.updateValue(chain, forKey: address) == nil else { return }
        added += 1
    }

    /// Writes the chains out when this reading found new ones, and drops this binary's files made with other
    /// debug files.
    func save() {
        guard added > 0, CacheDirectory.store(encode(), as: name) else { return }
        added = 0
        for old in directoryEntries(directory) where old.hasPrefix(prefix) && old != name { unlink(directory + "/" + old) }
    }

    private func encode() -> [UInt8] {
        var strings: [String: UInt32] = [:], order: [String] = []
        func id(_ s: String?) -> UInt32 {
            guard let s else { return .max }
            if let known = strings[s] { return known }
            strings[s] = UInt32(order.count)
            order.append(s)
            return UInt32(order.count - 1)
        }
        var entries: [UInt8] = []
        for (address, chain) in chains {
            append(&entries, address)
            append(&entries, UInt32(chain.count))
            for f in chain {
                for v in [id(f.name), id(f.line?.file), UInt32(clamping: f.line?.line ?? 0),
                          id(f.declaration?.file), UInt32(clamping: f.declaration?.line ?? 0)] { append(&entries, v) }
            }
        }
        var out: [UInt8] = []
        append(&out, InlineChainCache.magic)
        append(&out, UInt32(order.count))
        append(&out, UInt32(chains.count))
        for s in order {
            append(&out, UInt32(s.utf8.count))
            out += Array(s.utf8)
        }
        return out + entries
    }

    private func append<T: FixedWidthInteger>(_ out: inout [UInt8], _ value: T) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    /// The chains of `encode()`'s bytes; nil when they are not a whole, consistent file.
    static func decode(_ b: UnsafeRawBufferPointer) -> [UInt64: [InlineFrame]]? {
        var o = 0
        func read<T: FixedWidthInteger>(_: T.Type) -> T? {
            guard o + MemoryLayout<T>.size <= b.count else { return nil }
            defer { o += MemoryLayout<T>.size }
            return T(littleEndian: b.loadUnaligned(fromByteOffset: o, as: T.self))
        }
        guard read(UInt64.self) == magic, let stringCount = read(UInt32.self), let entryCount = read(UInt32.self),
              Int(stringCount) <= b.count, Int(entryCount) <= b.count else { return nil }
        var strings: [String] = []
        for _ in 0..<stringCount {
            guard let length = read(UInt32.self), o + Int(length) <= b.count else { return nil }
            strings.append(String(decoding: UnsafeRawBufferPointer(rebasing: b[o..<(o + Int(length))]), as: UTF8.self))
            o += Int(length)
        }
        func string(_ id: UInt32) -> String?? {
            id == .max ? .some(nil) : (Int(id) < strings.count ? .some(strings[Int(id)]) : nil)
        }
        var chains: [UInt64: [InlineFrame]] = [:]
        for _ in 0..<entryCount {
            guard let address = read(UInt64.self), let count = read(UInt32.self), Int(count) <= (b.count - o) / 20 else { return nil }
            var chain: [InlineFrame] = []
            for _ in 0..<count {
                guard let nameID = read(UInt32.self), let lineFile = read(UInt32.self), let line = read(UInt32.self),
                      let declFile = read(UInt32.self), let declLine = read(UInt32.self),
                      case let name?? = string(nameID), let file = string(lineFile), let decl = string(declFile) else { return nil }
                chain.append(InlineFrame(name: name, line: file.map { SourceLine(file: $0, line: Int(line)) },
                                         declaration: decl.map { SourceLine(file: $0, line: Int(declLine)) }))
            }
            chains[address] = chain
        }
        return o == b.count ? chains : nil
    }
}
