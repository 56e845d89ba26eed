import CDisasm

/// One machine instruction as Capstone decodes it.
public struct Instruction: Sendable {
    public enum Kind: UInt8, Sendable {
        case other, jump, call, `return`
    }

    public var address: UInt64
    public var size: Int
    public var mnemonic: String
    public var operands: String
    public var kind: Kind
    /// Where a direct jump or call goes; nil for others.
    public var target: UInt64?
}

/// The syntax instructions are printed in: AT&T (objdump's and perf's default) or Intel (`-M intel`).
public enum AssemblySyntax: String, Sendable, CaseIterable {
    case att, intel
}

public struct DisassemblyError: Error, CustomStringConvertible {
    public var description: String
}

/// Decodes x86-64 code through Capstone (opened on first use).
public enum Disassembler {
    public static func instructions(of code: [UInt8], at address: UInt64, syntax: AssemblySyntax) throws(DisassemblyError) -> [Instruction] {
        // At most one instruction per byte.
        var decoded = [ember_insn](repeating: ember_insn(), count: max(code.count, 1))
        var error = [CChar](repeating: 0, count: 256)
        let count = code.withUnsafeBufferPointer { bytes in
            decoded.withUnsafeMutableBufferPointer { out in
                ember_disassemble(bytes.baseAddress, bytes.count, address, syntax == .intel ? 1 : 0, out.baseAddress, out.count, &error, error.count)
            }
        }
        guard count >= 0 else { throw DisassemblyError(description: String(cString: error)) }
        return decoded.prefix(count).map { insn in
            var insn = insn
            let mnemonic = withUnsafeBytes(of: &insn.mnemonic) { String(cString: $0.baseAddress!.assumingMemoryBound(to: CChar.self)) }
            let operands = withUnsafeBytes(of: &insn.operands) { String(cString: $0.baseAddress!.assumingMemoryBound(to: CChar.self)) }
            return Instruction(address: insn.address, size: Int(insn.size), mnemonic: mnemonic, operands: operands,
                               kind: Instruction.Kind(rawValue: insn.kind) ?? .other, target: insn.target == 0 ? nil : insn.target)
        }
    }
}
