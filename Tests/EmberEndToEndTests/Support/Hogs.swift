import Foundation
import XCTest

/// The hogs fixture (`Tests/Programs/hogs.c`): CPU-bound threads that each write their schedstat run delay, the
/// kernel's own total of their run-queue delay, which `ember latency --sched` is checked against.
enum Hogs {
    static func program() throws -> String {
        try Tool.compileC(source: Tool.packageRoot.appendingPathComponent("Tests/Programs/hogs.c").path, name: "hogs", flags: ["-O2", "-pthread"])
    }

    /// Each of the `threads` threads the fixture wrote to `truth` has a measured total (`totals`: ns by tid) within
    /// 5% (or 2 ms) of its run delay.
    static func assertTotalsAgree(_ totals: [Int: Double], truth: String, threads: Int, output: String,
                                  file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try String(contentsOfFile: truth, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ") }
        XCTAssertEqual(expected.count, threads, file: file, line: line)
        for fields in expected {
            let tid = Int(fields[0])!, delay = Double(fields[1])!
            let measured = try XCTUnwrap(totals[tid], "no row for thread \(tid): \(output)", file: file, line: line)
            XCTAssertEqual(measured, delay, accuracy: max(delay * 0.05, 2e6), "thread \(tid): Ember \(measured) ns, schedstat \(delay) ns",
                           file: file, line: line)
        }
    }
}
