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
        // Template functions lose their return type (as perf shows them); the full form keeps it.
        XCTAssertEqual(d.demangle("_ZN5va_gc7reserveIP8edge_defS_EEvRP3vecIT_T0_8vl_embedEjb").name,
                       "va_gc::reserve<edge_def*, va_gc>(vec<edge_def*, va_gc, vl_embed>*&, unsigned int, bool)")
        XCTAssertEqual(Demangler(style: .full).demangle("_ZN5va_gc7reserveIP8edge_defS_EEvRP3vecIT_T0_8vl_embedEjb").name,
                       "void va_gc::reserve<edge_def*, va_gc>(vec<edge_def*, va_gc, vl_embed>*&, unsigned int, bool)")
        XCTAssertEqual(Demangler.withoutReturnType("std::pair<int, long> (anonymous namespace)::Map::find<int>(int const&)"),
                       "(anonymous namespace)::Map::find<int>(int const&)")
        XCTAssertEqual(Demangler.withoutReturnType("unsigned long f<int>(int)"), "f<int>(int)")
        XCTAssertEqual(d.demangle("_ZThn32_N4llvm13FPPassManagerD0Ev").name, "non-virtual thunk to llvm::FPPassManager::~FPPassManager()")
        XCTAssertEqual(Demangler.withoutParameters("non-virtual thunk to llvm::FPPassManager::~FPPassManager()"),
                       "non-virtual thunk to llvm::FPPassManager::~FPPassManager")
        XCTAssertEqual(Demangler.withoutParameters("(anonymous namespace)::A::operator()(int) const"), "(anonymous namespace)::A::operator()")
        XCTAssertEqual(Demangler.withoutReturnType("bool std::operator< <int>(int const&, int const&)"), "bool std::operator< <int>(int const&, int const&)")
        XCTAssertEqual(d.demangle("_Znotmangled").name, "_Znotmangled")
        // PLT stubs and LLVM's merged functions (swift-frontend has 786) are named for what they stand for.
        XCTAssertEqual(d.demangle("_ZdlPvm@plt").name, "operator delete(void*, unsigned long)@plt")
        XCTAssertEqual(d.demangle("$s4main3fooyyF@plt").name, "foo()@plt")
        XCTAssertEqual(d.demangle("memcpy@plt").name, "memcpy@plt")
        XCTAssertEqual(d.demangle("_ZN5swift10SILBuilder18createDeallocStackENS_11SILLocationENS_8SILValueETm").name,
                       "swift::SILBuilder::createDeallocStack(swift::SILLocation, swift::SILValue)")
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
    /// Every Swift function of the Swift compiler (`swift-frontend`, about 15,000) and of a program with one of each
    /// kind of declaration that went wrong before (Tests/Programs/names.swift): the short name is exactly
    /// `swift demangle --simplified`'s, with specialization as a suffix; and the runtime-only shortener, used where
    /// the toolchain's demangler library is absent, never gives an empty name, one that starts with "(", or one
    /// without the function's base name.
    func testShortNamesAgreeWithSwiftDemangleSimplified() throws {
        let frontend = try Tool.output(["sh", "-c", "readlink -f \"$(command -v swift-frontend)\""]).trimmingCharacters(in: .whitespacesAndNewlines)
        let program = NSTemporaryDirectory() + "ember-names-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: program) }
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Programs/names.swift").path
        _ = try Tool.output(["swiftc", "-O", "-g", "-o", program, source])
        var names = Set<String>()
        for binary in [frontend, program] {
            for f in try ElfImage.functionNames(path: binary) where Demangler.isSwift(f.name) { names.insert(f.name) }
        }
        let symbols = names.sorted()
        try XCTSkipIf(symbols.count < 10_000, "too few Swift functions found in \(frontend) (\(symbols.count))")
        let simplified = try Tool.output(["swift", "demangle", "--simplified"], input: symbols.joined(separator: "\n") + "\n")
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertGreaterThanOrEqual(simplified.count, symbols.count)
        XCTAssertTrue(SwiftSimplifiedNames.available, "libswiftDemangle.so was not found beside the Swift runtime")
        let short = Demangler(style: .short)
        var checkedBases = 0, mismatches: [String] = [], broken: [String] = []
        for (symbol, reference) in zip(symbols, simplified) {
            let expected = SwiftNameShortener.markingSuffixes(reference)
            if SwiftSimplifiedNames.available, short.demangle(symbol).name != expected {
                mismatches.append("\(symbol): \(short.demangle(symbol).name) != \(expected)")
            }
            let fallback = SwiftNameShortener.shorten(Demangler.swiftDemanglePlain(symbol) ?? "")
            if fallback.isEmpty || fallback.hasPrefix("(") {
                broken.append("\(symbol): '\(fallback)'")
            } else if let base = DemanglerTests.baseName(reference) {
                checkedBases += 1
                if !fallback.contains(base) { broken.append("\(symbol): '\(fallback)' lost '\(base)' (\(reference))") }
            }
        }
        XCTAssertEqual(mismatches.count, 0, mismatches.prefix(20).joined(separator: "\n"))
        XCTAssertEqual(broken.count, 0, broken.prefix(20).joined(separator: "\n"))
        XCTAssertGreaterThan(checkedBases, symbols.count / 2, "the base name was checked on most symbols")
        for kind in ["Shape.describe(prefix:)", "Square.Corner.turned(by:)", "hidden(_:)", "fileHidden(count:)",
                     "largest<A>(_:) [specialized]", "closure #1 in makeFilter(divisor:) [partial apply]", "Counter.doubled.setter",
                     "Ledger.record(amount:)", "settle(_:amounts:)"] {
            XCTAssertTrue(symbols.contains { short.demangle($0).name == kind }, "names.swift has \(kind)")
        }
    }

    /// The function's own name in a `--simplified` name: past "specialized", "closure #1 in" and the like, without
    /// generic arguments, the part before the parameter list, its last component that is not an accessor. Nil for
    /// descriptions (`type metadata for X`) that name no function.
    static func baseName(_ simplified: String) -> String? {
        var s = Substring(simplified)
        let prefixes = ["specialized ", "partial apply for ", "static ", "@objc ", "protocol witness for ", "dispatch thunk of ", "implicit "]
        var progressed = true
        while progressed {
            progressed = false
            for p in prefixes where s.hasPrefix(p) {
                s = s.dropFirst(p.count)
                progressed = true
            }
            let word = s.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            if !word.isEmpty, s.dropFirst(word.count).hasPrefix(" #"), let r = s.firstRange(of: " in ") {
                s = s[r.upperBound...]
                progressed = true
            }
        }
        var plain = "", depth = 0, previous: Character = " "
        for c in s {
            if c == "<" { depth += 1 } else if c == ">" && previous != "-" && depth > 0 { depth -= 1 } else if depth == 0 { plain.append(c) }
            previous = c
        }
        var head = Substring(plain.prefix { $0 != "(" })
        for cut in [" in conformance", " : "] { if let r = head.firstRange(of: cut) { head = head[..<r.lowerBound] } }
        let accessors: Set<Substring> = ["getter", "setter", "modify", "read", "_modify", "_read", "didset", "willset", "init",
                                         "deinit", "__deallocating_deinit", "__allocating_init", "subscript", "unsafeAddressor",
                                         "unsafeMutableAddressor", "yielding_borrow", "yielding_mutate"]
        var parts = head.split(separator: ".")
        while parts.count > 1, let last = parts.last, accessors.contains(last) { parts.removeLast() }
        guard let base = parts.last?.trimmingCharacters(in: CharacterSet(charactersIn: " ?!")), !base.isEmpty, !base.contains(" ") else { return nil }
        return base
    }
}

enum Tool {
    /// What a command prints (through `env`, so `swift` is found on the PATH), with `input` on its stdin.
    static func output(_ argv: [String], input: String? = nil) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = argv
        let out = Pipe(), stdin = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = stdin
        do { try p.run() } catch { throw XCTSkip("\(argv[0]) could not run: \(error)") }
        let writer = Thread {
            if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw XCTSkip("\(argv.joined(separator: " ")) failed (\(p.terminationStatus))") }
        return String(decoding: data, as: UTF8.self)
    }


    /// Swift symbols exported by the runtime library, from `nm -D`.
    static func libswiftCoreSymbols() throws -> [String] {
        let script = "nm -D --defined-only \"$(dirname \"$(readlink -f \"$(command -v swift)\")\")/../lib/swift/linux/libswiftCore.so\" | awk '$3 ~ /^\\$s/ {print $3}'"
        return try output(["sh", "-c", script]).split(separator: "\n").map(String.init).sorted()
    }
}
