import Foundation
import XCTest

/// Every input the fuzzer ever crashed the readers with (Fuzz/Regressions), replayed through the fuzz target's
/// ordinary build: reading, printing and folding each must end normally.
final class FuzzRegressionTests: XCTestCase {
    func testRegressionInputsReadWithoutCrashing() throws {
        let dir = Tool.packageRoot.appendingPathComponent("Fuzz/Regressions").path
        let inputs = try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted()
        try XCTSkipIf(inputs.isEmpty, "no regression inputs yet")
        let driver = URL(fileURLWithPath: Tool.emberPath).deletingLastPathComponent().appendingPathComponent("EmberFuzz").path
        let r = try Tool.run(driver, inputs.map { dir + "/" + $0 }, timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr.components(separatedBy: "replay ").count - 1, inputs.count, r.stderr)
    }

    /// Damaged inputs keep what came before the damage, and say what was lost.
    func testDamagedInputsKeepWhatCameBefore() throws {
        let dir = Tool.packageRoot.appendingPathComponent("Fuzz/Regressions").path
        let cut = try Tool.ember(["script", "-i", dir + "/pipe-cut-inside-a-record.bin"])
        XCTAssertEqual(cut.status, 0, cut.stderr)
        XCTAssertTrue(cut.stderr.contains("the stream ends inside a record"), cut.stderr)
        XCTAssertEqual(cut.stdout.components(separatedBy: " task-clock: ").count - 1, 4)
        let corrupt = try Tool.ember(["script", "-i", dir + "/compressed-record-corrupt.bin"])
        XCTAssertEqual(corrupt.status, 0, corrupt.stderr)
        XCTAssertTrue(corrupt.stderr.contains("a compressed record does not decompress"), corrupt.stderr)
    }
}
