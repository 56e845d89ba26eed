import EmberSession
import EmberSymbols
#if canImport(Glibc)
import Glibc
#endif

/// Whether a return address follows a call instruction, read from the binary's bytes: the check a frame found in
/// a stack tail (`Sample.stackTail`) must pass, since the tail was read after the sample and a word there may be
/// stale. x86-64's calls: `E8 rel32`, and `FF /2` with any ModRM form (register, memory, SIB, displacement,
/// RIP-relative), with or without a REX prefix.
final class CallSites {
    private let model: ProcessModel
    private let symbolizer: Symbolizer
    /// Open binaries by dso (-1: unreadable), and answers by location.
    private var files: [Int: Int32] = [:]
    private var answers: [UInt64: Bool] = [:]

    init(model: ProcessModel, symbolizer: Symbolizer) {
        self.model = model
        self.symbolizer = symbolizer
    }

    deinit { for fd in files.values where fd >= 0 { close(fd) } }

    /// Whether `returnAddress` of process `pid` is in a binary's code right after a call.
    func followsCall(pid: Int32, returnAddress: UInt64) -> Bool {
        guard let call = model.resolve(pid: pid, address: returnAddress &- 1) else { return false }
        let key = call.cacheKey
        if let known = answers[key] { return known }
        let answer = bytes(before: call).map(CallSites.endsWithCall) ?? false
        answers[key] = answer
        return answer
    }

    /// Whether the instruction before `returnAddress` is a direct call (`E8 rel32`) to the start of the function
    /// that holds `callee` (both addresses of process `pid`): the caller is calling that very function.
    func callsFunction(pid: Int32, returnAddress: UInt64, holding callee: UInt64) -> Bool {
        guard let call = model.resolve(pid: pid, address: returnAddress &- 1), let b = bytes(before: call), b[3] == 0xe8,
              let function = model.resolve(pid: pid, address: callee), let offset = function.address.fileOffset,
              let image = symbolizer.image(for: function.dso), let address = image.virtualAddress(ofFileOffset: offset),
              let symbol = image.symbols.lookup(address) else { return false }
        let displacement = Int32(littleEndian: b.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: Int32.self) })
        return returnAddress &+ UInt64(bitPattern: Int64(displacement)) == callee &- (address &- symbol.start)
    }

    /// The 8 bytes of code before a return address (`call` is the location of the byte before it).
    private func bytes(before call: ProcessModel.Location) -> [UInt8]? {
        guard call.dso != model.kernelDso, let offset = call.address.fileOffset, offset >= 7 else { return nil }
        var bytes = [UInt8](repeating: 0, count: 8)
        let end = offset + 1
        if model.dsos[call.dso].isVDSO {
            guard let vdso = ElfImage.runningVDSOMemory(), end <= UInt64(vdso.size) else { return nil }
            for i in 0..<8 { bytes[i] = vdso.base.load(fromByteOffset: Int(end) - 8 + i, as: UInt8.self) }
            return bytes
        }
        guard let fd = file(call.dso), bytes.withUnsafeMutableBytes({ pread(fd, $0.baseAddress, 8, off_t(end - 8)) }) == 8 else { return nil }
        return bytes
    }

    private func file(_ dso: Int) -> Int32? {
        if let fd = files[dso] { return fd < 0 ? nil : fd }
        let fd = symbolizer.image(for: dso).map { open($0.path, O_RDONLY | O_CLOEXEC) } ?? -1
        files[dso] = fd
        return fd < 0 ? nil : fd
    }

    /// Whether the 8 bytes before a return address end with a call instruction.
    static func endsWithCall(_ b: [UInt8]) -> Bool {
        if b[3] == 0xe8 { return true }
        for length in 2...7 where b[8 - length] == 0xff {
            let modrm = b[9 - length]
            guard (modrm >> 3) & 7 == 2 else { continue }
            let mod = modrm >> 6, rm = modrm & 7
            var size = 2
            switch mod {
            case 0:
                if rm == 4 { size = length >= 3 && b[10 - length] & 7 == 5 ? 7 : 3 } else if rm == 5 { size = 6 }
            case 1: size = rm == 4 ? 4 : 3
            case 2: size = rm == 4 ? 7 : 6
            default: break
            }
            if size == length { return true }
        }
        return false
    }
}
