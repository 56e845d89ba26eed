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
        // In chunks of at most 4,096 instructions: a function's size comes from its symbol, and may be large.
        var decoded = [ember_insn](repeating: ember_insn(), count: min(max(code.count, 1), 4096))
        var error = [CChar](repeating: 0, count: 256)
        var instructions: [Instruction] = []
        var offset = 0
        while offset < code.count {
            let count = code.withUnsafeBufferPointer { bytes in
                decoded.withUnsafeMutableBufferPointer { out in
                    ember_disassemble(bytes.baseAddress! + offset, bytes.count - offset, address &+ UInt64(offset), syntax == .intel ? 1 : 0,
                                      out.baseAddress, out.count, &error, error.count)
                }
            }
            guard count >= 0 else { throw DisassemblyError(description: String(cString: error)) }
            guard count > 0 else { break }
            for var insn in decoded.prefix(count) {
                let mnemonic = withUnsafeBytes(of: &insn.mnemonic) { String(cString: $0.baseAddress!.assumingMemoryBound(to: CChar.self)) }
                let operands = withUnsafeBytes(of: &insn.operands) { String(cString: $0.baseAddress!.assumingMemoryBound(to: CChar.self)) }
                instructions.append(Instruction(address: insn.address, size: Int(insn.size), mnemonic: mnemonic, operands: operands,
                                                kind: Instruction.Kind(rawValue: insn.kind) ?? .other, target: insn.target == 0 ? nil : insn.target))
                offset += Int(insn.size)
            }
        }
        return instructions
    }
}
