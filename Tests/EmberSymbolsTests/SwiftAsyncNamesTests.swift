import EmberSymbols
import XCTest

/// Swift async code by its symbols (names from the asyncchain fixture and libswift_Concurrency).
final class SwiftAsyncNamesTests: XCTestCase {
    func testFunctionsAndFunclets() {
        XCTAssertTrue(SwiftAsyncNames.isAsync("$s6achain6innerCys6UInt64VSiYaF"))
        XCTAssertTrue(SwiftAsyncNames.isAsync("$s6achain6innerCys6UInt64VSiYaFTY1_"))
        XCTAssertFalse(SwiftAsyncNames.isAsync("$s6achain8leafSpinys6UInt64VSiF"))
        XCTAssertTrue(SwiftAsyncNames.isAsync("$s15ProfiledServiceSS15HummingbirdCore7RequestV_0C005BasicE7ContextVtYaYbcfU1_"))
        XCTAssertFalse(SwiftAsyncNames.isAsync("$s4main4Yamly"))
        XCTAssertTrue(SwiftAsyncNames.isResumeFunclet("$s6achain7middleBys6UInt64VSiYaFTQ1_"))
        XCTAssertTrue(SwiftAsyncNames.isResumeFunclet("async_MainTQ1_"))
        XCTAssertTrue(SwiftAsyncNames.isResumeFunclet("$s4main1fyyYaFTQ_"))
        XCTAssertFalse(SwiftAsyncNames.isResumeFunclet("$s6achain6innerCys6UInt64VSiYaF"))
        XCTAssertFalse(SwiftAsyncNames.isResumeFunclet("memcpy_"))
        XCTAssertEqual(SwiftAsyncNames.function(of: "$s6achain7middleBys6UInt64VSiYaFTQ1_"), "$s6achain7middleBys6UInt64VSiYaF")
        XCTAssertEqual(SwiftAsyncNames.function(of: "async_MainTQ1_"), "async_Main")
        XCTAssertTrue(SwiftAsyncNames.isTaskCompletion("_ZL22completeTaskAndReleasePN5swift12AsyncContextEPNS_10SwiftErrorE"))
        XCTAssertFalse(SwiftAsyncNames.isTaskCompletion("completeTask"))
        XCTAssertFalse(SwiftAsyncNames.isTaskCompletion("_ZL16completeTaskImplPN5swift9AsyncTaskEPNS_12AsyncContextEPNS_10SwiftErrorE"))
        XCTAssertEqual(SwiftAsyncNames.taskRoot("_ZL12completeTaskPN5swift12AsyncContextEPNS_10SwiftErrorE"), "[async let task]")
        XCTAssertEqual(SwiftAsyncNames.taskRoot("_ZL23completeTaskWithClosurePN5swift12AsyncContextEPNS_10SwiftErrorE"), "[task]")
        XCTAssertEqual(SwiftAsyncNames.taskRoot("_ZL18completeInlineTaskPN5swift12AsyncContextE"), "[inline task]")
    }
}
