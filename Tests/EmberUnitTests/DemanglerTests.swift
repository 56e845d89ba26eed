@testable import EmberSymbols
import Foundation
import XCTest

final class DemanglerTests: XCTestCase {
    func testSwiftShortForms() {
        let cases: [(String, String)] = [
            ("swiftwork.Sorter.sortMany(Swift.Int) -> ()", "Sorter.sortMany(_:)"),
            ("swiftwork.Matrix.multiply(swiftwork.Matrix) -> swiftwork.Matrix", "Matrix.multiply(_:)"),
            ("swiftwork.sortGeneric<A where A: Swift.Comparable>(inout [A]) -> ()", "sortGeneric(_:)"),
            ("swiftwork.Sorter.init(count: Swift.Int) -> swiftwork.Sorter", "Sorter.init(count:)"),
            ("function signature specialization <Arg[1] = Dead> of swiftwork.Sorter.init(count: Swift.Int) -> swiftwork.Sorter",
             "Sorter.init(count:) [specialized]"),
            ("generic specialization <Swift.Int> of swiftwork.Sorter.sort<A>(inout [A]) -> ()", "Sorter.sort(_:) [specialized]"),
            ("swiftwork.Sorter.label(x: Swift.Int, _: Swift.Int) -> Swift.String", "Sorter.label(x:_:)"),
            ("swiftwork.Sorter.values.getter : [Swift.Int]", "Sorter.values.getter"),
            ("closure #1 (Swift.Int) -> Swift.Bool in swiftwork.Sorter.sortMany(Swift.Int) -> ()", "closure #1 in Sorter.sortMany(_:)"),
            ("main.run(body: (Swift.Int) -> Swift.Bool, count: Swift.Int) -> ()", "run(body:count:)"),
            ("static swiftwork.Point.== infix(swiftwork.Point, swiftwork.Point) -> Swift.Bool", "static Point.== infix(_:_:)"),
            ("type metadata accessor for swiftwork.Sorter", "type metadata accessor for swiftwork.Sorter"),
        ]
        for (full, short) in cases { XCTAssertEqual(SwiftNameShortener.shorten(full), short, full) }
    }

    func testSwiftCxxRustAndPlainNames() {
        let d = Demangler(style: .short)
        XCTAssertEqual(d.demangle("$s4main3fooyyF").name, "foo()")
        XCTAssertEqual(d.demangle("$s4main3fooyyF").language, .swift)
        XCTAssertEqual(Demangler(style: .full).demangle("$s4main3fooyyF").name, "main.foo() -> ()")
        XCTAssertEqual(d.demangle("_ZNSt6vectorIiSaIiEE9push_backERKi").name, "std::vector<int, std::allocator<int> >::push_back(int const&)")
        XCTAssertEqual(d.demangle("_ZN4core3fmt9Formatter3pad17h0123456789abcdefE").name, "core::fmt::Formatter::pad")
        XCTAssertEqual(d.demangle("_ZN4core3fmt9Formatter3pad17h0123456789abcdefE").language, .rust)
        XCTAssertEqual(d.demangle("_ZN60_$LT$alloc..string..String$u20$as$u20$core..fmt..Display$GT$3fmt17h0123456789abcdefE").name,
                       "<alloc::string::String as core::fmt::Display>::fmt")
        XCTAssertEqual(d.demangle("memcpy").name, "memcpy")
        XCTAssertEqual(d.demangle("_Znotmangled").name, "_Znotmangled")
        XCTAssertEqual(Demangler(style: .none).demangle("$s4main3fooyyF").name, "$s4main3fooyyF")
    }

    /// The full form is exactly what `swift demangle` prints, sugar included, for hundreds of the standard
    /// library's own symbols.
    func testFullFormAgreesWithSwiftDemangle() throws {
        let core = try Tool.libswiftCoreSymbols()
        try XCTSkipIf(core.count < 100, "libswiftCore's symbols could not be listed")
        let names = ["$s4main3fooyyF", "$s9swiftwork6SorterV8sortManyyySiF", "$sSa6appendyyxnF", "$s4main1fyS2bXEfU_"]
            + stride(from: 0, to: core.count, by: max(1, core.count / 400)).map { core[$0] }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["swift", "demangle", "--compact"] + names
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { throw XCTSkip("swift demangle is not available: \(error)") }
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        try XCTSkipIf(p.terminationStatus != 0, "swift demangle failed")
        let expected = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(expected.count, names.count)
        for (name, reference) in zip(names, expected) {
            XCTAssertEqual(Demangler(style: .full).demangle(name).name, reference, name)
        }
    }
}

enum Tool {
    /// Swift symbols exported by the runtime library, from `nm -D`.
    static func libswiftCoreSymbols() throws -> [String] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["sh", "-c", "nm -D --defined-only \"$(dirname \"$(readlink -f \"$(command -v swift)\")\")/../lib/swift/linux/libswiftCore.so\" | awk '$3 ~ /^\\$s/ {print $3}'"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return text.split(separator: "\n").map(String.init).sorted()
    }
}
