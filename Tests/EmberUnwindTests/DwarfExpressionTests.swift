@testable import EmberUnwind
import XCTest

/// DWARF expressions as CFI uses them, evaluated on literal registers.
final class DwarfExpressionTests: XCTestCase {
    /// The CFA expression of x86-64 PLT entries: rsp + 8, plus 8 more once past the entry's 11th byte.
    func testPLTExpression() {
        let ops: [UnwindRule.Op] = [(0x77, 8), (0x80, 0), (0x3f, 0), (0x1a, 0), (0x3b, 0), (0x2a, 0), (0x33, 0), (0x24, 0), (0x22, 0)]
            .map { UnwindRule.Op(atom: $0.0, number: $0.1, number2: 0) }
        var regs = RegisterFile()
        regs[7] = 0x7fff_0000
        let stack = Unwinder.Stack(base: 0, bytes: UnsafeRawBufferPointer(start: nil, count: 0))
        regs[16] = 0x401026  // offset 6 in its 16-byte entry
        XCTAssertEqual(Unwinder.evaluate(ops, regs: regs, cfa: nil, stack: stack)?.value, 0x7fff_0008)
        regs[16] = 0x40102c  // offset 12: after the push
        XCTAssertEqual(Unwinder.evaluate(ops, regs: regs, cfa: nil, stack: stack)?.value, 0x7fff_0010)
        XCTAssertNil(Unwinder.evaluate([UnwindRule.Op(atom: 0x22, number: 0, number2: 0)], regs: regs, cfa: nil, stack: stack), "stack underflow")
    }
}
