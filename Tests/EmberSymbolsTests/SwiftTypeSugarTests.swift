@testable import EmberSymbols
import XCTest

/// The standard library's type sugar in demangled Swift names.
final class SwiftTypeSugarTests: XCTestCase {
    func testSwiftTypeSugar() {
        XCTAssertEqual(SwiftTypeSugar.apply("f(Swift.Array<Swift.Int>) -> Swift.Optional<Swift.String>"), "f([Swift.Int]) -> Swift.String?")
        XCTAssertEqual(SwiftTypeSugar.apply("Swift.Dictionary<Swift.String, Swift.Array<A>>"), "[Swift.String : [A]]")
        XCTAssertEqual(SwiftTypeSugar.apply("Swift.Optional<(A) -> B>"), "((A) -> B)?")
        XCTAssertEqual(SwiftTypeSugar.apply("MySwift.Array<Int>"), "MySwift.Array<Int>", "only the standard library's types")
    }
}
