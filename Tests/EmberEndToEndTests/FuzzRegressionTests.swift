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
}
