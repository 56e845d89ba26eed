#if canImport(Glibc)
import Glibc
#endif
import EmberSession

/// The machine code of one function and the source line of each of its addresses, for `ember annotate`: read
/// from the binary and its DWARF, or from an archive where the binary is gone.
public struct FunctionCode: Sendable {
    /// The symbol as the binary has it.
    public var rawName: String
    /// The binary it is in, as the recording names it.
    public var binary: String
    /// Where it starts, an ELF virtual address of the binary.
    public var start: UInt64
    public var bytes: [UInt8]
    /// The line table's rows in the function, sorted: each address from a row's up to the next row's is on its
    /// line. Empty when the binary has no debug info.
    public var lines: [(address: UInt64, line: SourceLine)]
    /// The text of the source lines the function's code is on, where an archive kept them (empty when read from
    /// the binary: the files are read then).
    public var sourceText: [SourceLine: String]
    /// The symbols its direct jumps and calls go to, by address, as they were looked up (an archive keeps them).
    var targets: [UInt64: (raw: String, offset: UInt64)] = [:]
    /// The function's start as a `ProcessModel.Location.cacheKey`.
    let key: UInt64

    init(key: UInt64, rawName: String, binary: String, start: UInt64, bytes: [UInt8], lines: [(address: UInt64, line: SourceLine)],
         sourceText: [SourceLine: String] = [:]) {
        self.key = key
        self.rawName = rawName
        self.binary = binary
        self.start = start
        self.bytes = bytes
        self.lines = lines
        self.sourceText = sourceText
    }

    public var end: UInt64 { start + UInt64(bytes.count) }

    /// The source line of an address in the function, from the line table; nil without one.
    public func line(at address: UInt64) -> SourceLine? {
        var lo = 0, hi = lines.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if lines[mid].address <= address { lo = mid + 1 } else { hi = mid }
        }
        return lo > 0 ? lines[lo - 1].line : nil
    }
}

/// Why a function's code cannot be read.
public enum FunctionCodeError: Error, CustomStringConvertible {
    case kernel(symbol: String)
    case jit(symbol: String, map: String)
    case unreadable(binary: String)
    case notInArchive(symbol: String)

    public var description: String {
        switch self {
        case .kernel(let s): return "\(s) is kernel code; ember annotate reads the code of user-space binaries (name a user-space function, or leave SYMBOL out for the hottest)"
        case .jit(let s, let map): return "\(s) is JIT-compiled code described only by \(map), which holds no instructions"
        case .unreadable(let b): return "\(b) cannot be read, so its code cannot be shown (annotate on the machine that recorded, or an 'ember archive' of the recording made there)"
        case .notInArchive(let s): return "the archive holds no code for \(s) (archives keep the code of the functions their samples were taken in)"
        }
    }
}

extension Symbolizer {
    /// The code of the function at a location, with its line table; throws when it cannot be read.
    public func functionCode(at location: ProcessModel.Location, symbol: Hit) throws -> FunctionCode {
        let dso = model.dsos[location.dso]
        if location.dso == model.kernelDso { throw FunctionCodeError.kernel(symbol: symbol.name) }
        if dso.isPerfMap { throw FunctionCodeError.jit(symbol: symbol.name, map: dso.path) }
        let key = location.cacheKey &- symbol.offset
        if let archive {
            guard let code = archive.code[key] else { throw FunctionCodeError.notInArchive(symbol: symbol.name) }
            return code
        }
        guard let offset = location.address.fileOffset, let image = image(for: location.dso),
              let address = image.virtualAddress(ofFileOffset: offset),
              let found = image.symbols.lookup(address) ?? bounds(of: location.dso, image).flatMap({ bounds in
                  bounds.range(containing: address).map { Symbol(start: $0.lowerBound, end: $0.upperBound, name: symbol.rawName) }
              }),
              let bytes = Symbolizer.read(image.path, at: image.fileOffset(ofVirtualAddress: found.start), count: found.end - found.start)
        else { throw FunctionCodeError.unreadable(binary: dso.path) }
        let lines = dwarf(for: location.dso, image: image)?.lineRows(from: found.start, to: found.end) ?? []
        var code = FunctionCode(key: key, rawName: found.name, binary: dso.path, start: found.start, bytes: bytes, lines: lines)
        if let capture {
            // An archive keeps the lines' text too: the sources are as likely gone as the binary.
            for row in lines where code.sourceText[row.line] == nil { code.sourceText[row.line] = captureSources.text(of: row.line) }
            capture.code[key] = code
        }
        return code
    }

    /// A function no symbol names (a stripped binary's own), bounded by the call-frame information that covers the
    /// location and named `[BINARY+0xSTART]`; nil where there is none (and for what a symbol names).
    public func unnamedFunction(at location: ProcessModel.Location) -> Hit? {
        if let known = unnamedFunctions[location.cacheKey] { return known }
        let hit = findUnnamedFunction(at: location)
        unnamedFunctions[location.cacheKey] = hit
        return hit
    }

    private func findUnnamedFunction(at location: ProcessModel.Location) -> Hit? {
        let dso = model.dsos[location.dso]
        guard location.dso != model.kernelDso, !dso.isPerfMap, let offset = location.address.fileOffset else { return nil }
        let range: Range<UInt64>, address: UInt64
        if let archive {
            // The archive kept the code of each such function a sample was taken in, by its file offsets' key.
            guard let code = archive.code.values.first(where: { $0.binary == dso.path && $0.rawName.hasPrefix("[")
                && location.cacheKey >= $0.key && location.cacheKey - $0.key < UInt64($0.bytes.count) }) else { return nil }
            address = code.start + (location.cacheKey - code.key)
            range = code.start..<code.end
        } else {
            guard let image = image(for: location.dso), let at = image.virtualAddress(ofFileOffset: offset), image.symbols.lookup(at) == nil,
                  let found = bounds(of: location.dso, image)?.range(containing: at) else { return nil }
            address = at
            range = found
        }
        let name = "[\(dso.shortName)+0x\(String(range.lowerBound, radix: 16))]"
        return Hit(name: name, rawName: name, offset: address - range.lowerBound, language: .plain, line: nil, declaration: nil, inlined: [])
    }

    private func bounds(of dsoIndex: Int, _ image: ElfImage) -> FunctionBounds? {
        if let known = functionBounds[dsoIndex] { return known }
        let bounds = FunctionBounds(image: image)
        functionBounds[dsoIndex] = bounds
        return bounds
    }

    /// The function a direct jump or call of `code` goes to, and how far into it: a symbol of the same binary,
    /// demangled as frames are.
    public func target(_ address: UInt64, of code: FunctionCode, dso: Int) -> (name: String, offset: UInt64)? {
        let found: (raw: String, offset: UInt64)?
        if archive != nil {
            found = code.targets[address]
        } else {
            found = image(for: dso)?.symbols.lookup(address).map { ($0.name, address - $0.start) }
            if let found { capture?.code[code.key]?.targets[address] = found }
        }
        return found.map { (displayName($0.raw).0, $0.offset) }
    }

    /// `count` bytes of a file from `offset` (a function's code: at most 16 MiB).
    private static func read(_ path: String, at offset: UInt64?, count: UInt64) -> [UInt8]? {
        guard let offset, count > 0, count <= 16 << 20 else { return nil }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: Int(count))
        let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
        return got == Int(count) ? bytes : nil
    }
}
