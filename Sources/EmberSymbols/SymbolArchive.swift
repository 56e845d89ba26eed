import EmberKernel

/// What an archive keeps of symbolization: the facts the binaries, their DWARF and the kernel gave for every
/// location a reading asked about, so that a replay elsewhere answers from them (and names frames exactly as it
/// would have there), and nothing of the binaries themselves. Filled by a `Symbolizer` capturing, read by one
/// replaying.
public final class SymbolArchive {
    /// A user location's symbol as the binary has it, its DWARF inline chain (nil without DWARF) and the
    /// address's own source line.
    public struct Facts {
        public var raw: String
        public var offset: UInt64
        public var chain: [InlineFrame]?
        public var line: SourceLine?
    }

    /// By `ProcessModel.Location.cacheKey`; nil for an address no symbol covers.
    var user: [UInt64: Facts?] = [:]
    /// By the recorded kernel address: the function and the offset into it.
    var kernel: [UInt64: (name: String, offset: UInt64)?] = [:]
    /// USDT argument specs by `BINARY:PROVIDER:NAME`.
    var usdt: [String: String] = [:]
    /// The code of the functions samples were taken in, by the `cacheKey` of the function's start, for annotate.
    var code: [UInt64: FunctionCode] = [:]

    public init() {}

    public func storeUSDT(_ key: String, arguments: String) { usdt[key] = arguments }
    public func usdtArguments(_ key: String) -> String? { usdt[key] }

    // MARK: Encoding

    public func encoded() -> [UInt8] {
        var w = ArchiveWriter()
        w.count(user.count)
        for (key, facts) in user.sorted(by: { $0.key < $1.key }) {
            w.u64(key)
            guard let facts else { w.byte(0); continue }
            w.byte(facts.chain == nil ? 1 : 2)
            w.string(facts.raw)
            w.u64(facts.offset)
            w.line(facts.line)
            if let chain = facts.chain {
                w.count(chain.count)
                for frame in chain {
                    w.string(frame.name)
                    w.line(frame.line)
                    w.line(frame.declaration)
                }
            }
        }
        w.count(kernel.count)
        for (address, hit) in kernel.sorted(by: { $0.key < $1.key }) {
            w.u64(address)
            w.byte(hit == nil ? 0 : 1)
            if let hit { w.string(hit.name); w.u64(hit.offset) }
        }
        w.count(usdt.count)
        for (key, spec) in usdt.sorted(by: { $0.key < $1.key }) { w.string(key); w.string(spec) }
        w.count(code.count)
        for (key, function) in code.sorted(by: { $0.key < $1.key }) {
            w.u64(key)
            w.string(function.rawName)
            w.string(function.binary)
            w.u64(function.start)
            w.byteArray(function.bytes)
            w.count(function.lines.count)
            for row in function.lines { w.u64(row.address); w.line(row.line) }
            w.count(function.sourceText.count)
            for (line, text) in function.sourceText.sorted(by: { ($0.key.file, $0.key.line) < ($1.key.file, $1.key.line) }) {
                w.line(line)
                w.string(text)
            }
            w.count(function.targets.count)
            for (address, target) in function.targets.sorted(by: { $0.key < $1.key }) {
                w.u64(address)
                w.string(target.raw)
                w.u64(target.offset)
            }
        }
        return w.bytes
    }

    /// Reads what `encoded()` wrote; throws `ArchiveReader.Corrupt` on anything else.
    public init(decoding bytes: [UInt8]) throws {
        var r = ArchiveReader(bytes)
        for _ in 0..<(try r.count()) {
            let key = try r.u64()
            switch try r.byte() {
            case 0: user[key] = .some(nil)
            case let kind where kind <= 2:
                let raw = try r.string(), offset = try r.u64(), line = try r.line()
                var chain: [InlineFrame]?
                if kind == 2 {
                    chain = try (0..<(try r.count())).map { _ in InlineFrame(name: try r.string(), line: try r.line(), declaration: try r.line()) }
                }
                user[key] = Facts(raw: raw, offset: offset, chain: chain, line: line)
            default: throw ArchiveReader.Corrupt()
            }
        }
        for _ in 0..<(try r.count()) {
            let address = try r.u64()
            kernel[address] = try r.byte() == 0 ? .some(nil) : (try r.string(), try r.u64())
        }
        for _ in 0..<(try r.count()) { usdt[try r.string()] = try r.string() }
        // Archives made before annotate end here.
        guard !r.atEnd else { return }
        for _ in 0..<(try r.count()) {
            let key = try r.u64()
            var function = FunctionCode(key: key, rawName: try r.string(), binary: try r.string(), start: try r.u64(), bytes: try r.byteArray(), lines: [])
            // What the readers add to and subtract from must stay in range: the code's end, its key's, and rows
            // sorted inside the code.
            let size = UInt64(function.bytes.count)
            guard function.start <= UInt64.max - size, key <= UInt64.max - size else { throw ArchiveReader.Corrupt() }
            function.lines = try (0..<(try r.count())).map { _ in
                let address = try r.u64()
                guard let line = try r.line(), address >= function.start, address < function.end else { throw ArchiveReader.Corrupt() }
                return (address, line)
            }
            guard zip(function.lines, function.lines.dropFirst()).allSatisfy({ $0.address < $1.address }) else { throw ArchiveReader.Corrupt() }
            for _ in 0..<(try r.count()) {
                guard let line = try r.line() else { throw ArchiveReader.Corrupt() }
                function.sourceText[line] = try r.string()
            }
            for _ in 0..<(try r.count()) { function.targets[try r.u64()] = (try r.string(), try r.u64()) }
            code[key] = function
        }
    }
}

/// The archive sections' primitives: little-endian integers, length-prefixed strings.
public struct ArchiveWriter {
    public private(set) var bytes: [UInt8] = []
    public init() {}
    public mutating func byte(_ v: UInt8) { bytes.append(v) }
    public mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func count(_ n: Int) { u64(UInt64(n)) }
    public mutating func string(_ s: String) { count(s.utf8.count); bytes.append(contentsOf: s.utf8) }
    public mutating func byteArray(_ b: [UInt8]) { count(b.count); bytes.append(contentsOf: b) }
    mutating func line(_ l: SourceLine?) {
        guard let l else { return byte(0) }
        byte(1)
        string(l.file)
        u64(UInt64(bitPattern: Int64(l.line)))
    }
}

/// Reads what `ArchiveWriter` wrote, every length checked against what is left.
public struct ArchiveReader {
    public struct Corrupt: Error, CustomStringConvertible {
        public init() {}
        public var description: String { "the archive is corrupt (a section ends early or holds what no Ember writes)" }
    }

    private let bytes: [UInt8]
    private var at = 0
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public mutating func byte() throws -> UInt8 {
        guard at < bytes.count else { throw Corrupt() }
        defer { at += 1 }
        return bytes[at]
    }

    public mutating func u64() throws -> UInt64 {
        guard bytes.count - at >= 8 else { throw Corrupt() }
        defer { at += 8 }
        return bytes[at..<at + 8].reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// A count of things each at least a byte long: never more than the bytes left.
    public mutating func count() throws -> Int {
        let n = try u64()
        guard n <= UInt64(bytes.count - at) else { throw Corrupt() }
        return Int(n)
    }

    public var atEnd: Bool { at == bytes.count }

    public mutating func byteArray() throws -> [UInt8] {
        let n = try count()
        defer { at += n }
        return Array(bytes[at..<at + n])
    }

    public mutating func string() throws -> String {
        let n = try count()
        defer { at += n }
        return String(decoding: bytes[at..<at + n], as: UTF8.self)
    }

    mutating func line() throws -> SourceLine? {
        guard try byte() == 1 else { return nil }
        return SourceLine(file: try string(), line: Int(Int64(bitPattern: try u64())))
    }
}
