import EmberKernel
#if canImport(Glibc)
import Glibc
#endif

/// Kernel function symbols from `/proc/kallsyms` (module symbols included, as `name [module]` lines).
public struct KernelSymbols: Sendable {
    public let table: SymbolTable
    /// True when every address read as zero: `kernel.kptr_restrict` hides them from this user.
    public let addressesHidden: Bool

    /// Parses kallsyms text (`ffffffff81000000 T _text`), keeping text (t/T) and weak (w/W) symbols as perf does.
    /// Parsed as bytes: the file has over a hundred thousand lines.
    public init(kallsyms bytes: [UInt8]) {
        var builder = SymbolTable.Builder()
        builder.laterAliasesWin = true
        var sawNonZero = false
        var lines = 0
        bytes.withUnsafeBytes { b in
            var i = 0
            let n = b.count
            while i < n {
                var lineEnd = i
                while lineEnd < n && b[lineEnd] != 0x0a { lineEnd += 1 }
                defer { i = lineEnd + 1 }
                lines += 1
                var address: UInt64 = 0
                var j = i
                while j < lineEnd, let digit = hexValue(b[j]) {
                    address = address << 4 | UInt64(digit)
                    j += 1
                }
                guard j + 3 < lineEnd, b[j] == 0x20 else { continue }
                if address != 0 { sawNonZero = true }
                let type = b[j + 1]
                let nameStart = j + 3
                var nameEnd = nameStart
                while nameEnd < lineEnd && b[nameEnd] != 0x09 && b[nameEnd] != 0x20 { nameEnd += 1 }
                let binding: SymbolBinding
                switch type {
                case UInt8(ascii: "T"): binding = .global
                case UInt8(ascii: "t"): binding = .local
                case UInt8(ascii: "W"), UInt8(ascii: "w"): binding = .weak
                default: continue
                }
                builder.add(start: address, size: 0, name: UnsafeRawBufferPointer(rebasing: b[nameStart..<nameEnd]), binding: binding)
            }
        }
        addressesHidden = lines > 0 && !sawNonZero
        table = addressesHidden ? SymbolTable() : SymbolTable(builder)
    }

    init(table: SymbolTable) {
        self.table = table
        addressesHidden = false
    }

    /// Where the running kernel's `_text` is (it moves every boot with KASLR). `_text` is among the first lines of
    /// /proc/kallsyms, so only those are read: formatting the whole file costs the kernel tens of milliseconds.
    public static func runningTextStart() -> UInt64? {
        let fd = open("/proc/kallsyms", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while pending.count < 64 << 20 {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return nil }
            pending.append(contentsOf: chunk[0..<n])
            guard let lastNewline = pending.lastIndex(of: 0x0a) else { continue }
            for line in pending[...lastNewline].split(separator: 0x0a) where line.count > 8 && line.suffix(6).elementsEqual(" _text".utf8) {
                guard let space = line.firstIndex(of: 0x20),
                      let start = UInt64(String(decoding: line[line.startIndex..<space], as: UTF8.self), radix: 16), start != 0 else { return nil }
                return start
            }
            pending.removeSubrange(...lastNewline)
        }
        return nil
    }

    /// The running kernel's build-id, from the notes it exports in /sys/kernel/notes.
    public static var runningBuildID: [UInt8]? {
        guard let notes = readSmallFileBytes("/sys/kernel/notes") else { return nil }
        var o = 0
        func u32(_ at: Int) -> Int { Int(notes[at]) | Int(notes[at + 1]) << 8 | Int(notes[at + 2]) << 16 | Int(notes[at + 3]) << 24 }
        while o + 12 <= notes.count {
            let namesz = u32(o), descsz = u32(o + 4), type = u32(o + 8)
            let name = o + 12, desc = name + (namesz + 3) / 4 * 4
            guard desc + descsz <= notes.count else { return nil }
            if type == 3, namesz == 4, Array(notes[name..<(name + 3)]) == Array("GNU".utf8) {
                return Array(notes[desc..<(desc + descsz)])
            }
            o = desc + (descsz + 3) / 4 * 4
        }
        return nil
    }

    /// Reads this machine's kernel symbols: from the cache when the kernel and its modules are the ones it was
    /// made for, else from `/proc/kallsyms` (which costs tens of milliseconds of kernel formatting), refreshing it.
    public static func loadRunning() -> KernelSymbols {
        let cache = KernelSymbolCache()
        if let table = cache?.load() { return KernelSymbols(table: table) }
        let symbols = KernelSymbols(kallsyms: readSmallFileBytes("/proc/kallsyms", limit: 256 << 20) ?? [])
        if !symbols.addressesHidden { cache?.store(symbols.table) }
        return symbols
    }
}

@inline(__always)
private func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case 0x30...0x39: return c - 0x30
    case 0x61...0x66: return c - 0x61 + 10
    case 0x41...0x46: return c - 0x41 + 10
    default: return nil
    }
}
