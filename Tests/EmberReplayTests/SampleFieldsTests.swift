@testable import EmberPerfData
@testable import EmberReplay
import XCTest

/// The fields `script` prints from a sample, on literal values.
final class SampleFieldsTests: XCTestCase {
    func testUSDTArgumentSpecs() {
        XCTAssertNotNil(USDTArgument(spec: "-4@%edi"))
        XCTAssertNotNil(USDTArgument(spec: "8@-16(%rbp)"))
        XCTAssertNotNil(USDTArgument(spec: "4@$5"))
        XCTAssertNil(USDTArgument(spec: "3@%eax"), "only 1, 2, 4 and 8 byte arguments")
        XCTAssertNil(USDTArgument(spec: "-9223372036854775808@%eax"))
        XCTAssertNil(USDTArgument(spec: "4@%xmm0"))
        guard case .memory(let bit, let offset)? = USDTArgument(spec: "8@-16(%rbp)")?.location else { return XCTFail() }
        XCTAssertEqual(bit, 6)
        XCTAssertEqual(offset, -16)
        XCTAssertEqual(USDTArgument(spec: "4@$5")?.value(Sample()), 5)
    }
}
