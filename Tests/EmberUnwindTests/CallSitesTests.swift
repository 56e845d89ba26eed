@testable import EmberUnwind
import XCTest

/// The call instructions a stack tail's return address must follow (x86-64).
final class CallSitesTests: XCTestCase {
    private func ends(_ tail: [UInt8]) -> Bool {
        CallSites.endsWithCall([UInt8](repeating: 0x90, count: 8 - tail.count) + tail)
    }

    func testCallForms() {
        XCTAssertTrue(ends([0xe8, 0x10, 0x20, 0x30, 0x40]), "call rel32")
        XCTAssertTrue(ends([0xff, 0xd0]), "call *%rax")
        XCTAssertTrue(ends([0x41, 0xff, 0xd4]), "call *%r12")
        XCTAssertTrue(ends([0xff, 0x50, 0x18]), "call *0x18(%rax)")
        XCTAssertTrue(ends([0xff, 0x90, 0x00, 0x01, 0x00, 0x00]), "call *0x100(%rax)")
        XCTAssertTrue(ends([0xff, 0x15, 0x01, 0x02, 0x03, 0x04]), "call *disp(%rip)")
        XCTAssertTrue(ends([0xff, 0x14, 0xc5, 0x00, 0x10, 0x00, 0x00]), "call *disp(,%rax,8)")
        XCTAssertTrue(ends([0xff, 0x54, 0x24, 0x08]), "call *0x8(%rsp)")
    }

    func testNotCalls() {
        XCTAssertFalse(ends([0x48, 0x89, 0xc7]), "mov %rax,%rdi")
        XCTAssertFalse(ends([0xff, 0xe0]), "jmp *%rax")
        XCTAssertFalse(ends([0xff, 0x50]), "a call whose displacement byte is missing")
        XCTAssertFalse(ends([0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]))
    }
}
