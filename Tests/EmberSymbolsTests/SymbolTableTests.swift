@testable import EmberSymbols
import EmberReplay
import XCTest

final class SymbolTableTests: XCTestCase {
    /// Aliases at one address resolve as perf's choose_best_symbol does; zero-sized symbols reach the next one.
    func testBestSymbolAndEnds() {
        var b = SymbolTable.Builder()
        b.add(start: 0x1000, size: 0x10, name: "__memcpy_weak", binding: .weak)
        b.add(start: 0x1000, size: 0x10, name: "memcpy", binding: .global)
        b.add(start: 0x1000, size: 0x10, name: "__memcpy_local", binding: .local)
        b.add(start: 0x2000, size: 0, name: "no_size", binding: .global)
        b.add(start: 0x2100, size: 0x20, name: "_a", binding: .global)
        b.add(start: 0x2100, size: 0x20, name: "__b", binding: .global)
        let t = SymbolTable(b)
        XCTAssertEqual(t.lookup(0x1008)?.name, "memcpy")
        XCTAssertNil(t.lookup(0x1010), "past a sized symbol's end")
        XCTAssertEqual(t.lookup(0x20ff)?.name, "no_size", "a zero-sized symbol extends to the next")
        XCTAssertEqual(t.lookup(0x2100)?.name, "_a", "fewer leading underscores")
        XCTAssertNil(t.lookup(0xfff))
    }

    func testCacheRoundTripAndCorruptCache() {
        var b = SymbolTable.Builder()
        for i in 0..<100 { b.add(start: UInt64(0x1000 + i * 16), size: 16, name: "f\(i)", binding: .global) }
        let t = SymbolTable(b)
        let bytes = t.serialized()
        let back = bytes.withUnsafeBytes { SymbolTable(serialized: $0) }
        XCTAssertEqual(back?.count, 100)
        XCTAssertEqual(back?.lookup(0x1000 + 57 * 16 + 3)?.name, "f57")
        var corrupt = bytes
        corrupt[16] = 0xff  // names length
        corrupt[23] = 0x7f
        XCTAssertNil(corrupt.withUnsafeBytes { SymbolTable(serialized: $0) })
        XCTAssertNil(Array(bytes.prefix(40)).withUnsafeBytes { SymbolTable(serialized: $0) })
    }

    /// kallsyms lines, module symbols included (`addr t name\t[module]`); data symbols are skipped.
    func testKallsymsParsing() {
        let text = """
            0000000000000000 A fixed_percpu_data
            ffffffff81000000 T _text
            ffffffff81000100 T startup_64
            ffffffff81000200 t local_fn
            ffffffff81000300 D some_data
            ffffffffc0000000 t mod_fn\t[ext4]
            ffffffff81000400 W weak_fn
            ffffffff81000500 T memcpy
            ffffffff81000500 T __memcpy
            ffffffff81000500 T __pi_memcpy
            """
        let k = KernelSymbols(kallsyms: Array(text.utf8))
        XCTAssertFalse(k.addressesHidden)
        XCTAssertEqual(k.table.lookup(0xffff_ffff_8100_0150)?.name, "startup_64")
        XCTAssertEqual(k.table.lookup(0xffff_ffff_8100_0250)?.name, "local_fn")
        XCTAssertEqual(k.table.lookup(0xffff_ffff_c000_0004)?.name, "mod_fn")
        XCTAssertEqual(k.table.lookup(0xffff_ffff_8100_0300)?.name, "local_fn", "data symbols are not functions")
        XCTAssertEqual(k.table.lookup(0xffff_ffff_8100_0504)?.name, "__pi_memcpy", "of aliases, the last listed, as perf picks")
        let hidden = KernelSymbols(kallsyms: Array("0000000000000000 T _text\n0000000000000000 T startup_64\n".utf8))
        XCTAssertTrue(hidden.addressesHidden)
    }

    /// Labels (`STT_NOTYPE`, ld.so's `_start`) name only what no function covers; at a function's address the
    /// function wins.
    func testLabelsOnlyWhereNoFunctionCovers() {
        var b = SymbolTable.Builder()
        b.add(start: 0x1000, size: 0x100, name: "function", binding: .global)
        b.add(start: 0x1000, size: 0, name: "same_place", binding: .local, isLabel: true)
        b.add(start: 0x1080, size: 0, name: "inside", binding: .local, isLabel: true)
        b.add(start: 0x1200, size: 0, name: "_start", binding: .local, isLabel: true)
        b.add(start: 0x1208, size: 0, name: "_dl_start_user", binding: .local, isLabel: true)
        b.add(start: 0x1300, size: 0x10, name: "next", binding: .global)
        let t = SymbolTable(b)
        XCTAssertEqual(t.lookup(0x1000)?.name, "function")
        XCTAssertEqual(t.lookup(0x1090)?.name, "function", "a label inside a function does not take it over")
        XCTAssertEqual(t.lookup(0x1204)?.name, "_start")
        XCTAssertEqual(t.lookup(0x1210)?.name, "_dl_start_user", "labels reach the next symbol")
    }

    /// `name@plt` for every PLT stub of real binaries, exactly where and as `objdump -d` labels them (an
    /// independent reader of the same relocations), and no zero-sized `_init` stretched over the stubs.
    func testPLTStubsAgreeWithObjdump() throws {
        var checked = 0
        for path in ["/usr/bin/sort", "/usr/bin/ls", "/usr/bin/gcc", URL(fileURLWithPath: "/usr/bin/python3").resolvingSymlinksInPath().path] {
            guard FileManager.default.isReadableFile(atPath: path), let image = try? ElfImage(path: path) else { continue }
            let text = try Tool.output(["objdump", "-d", "--no-show-raw-insn", path])
            var expected: [UInt64: String] = [:]
            for line in text.split(separator: "\n") where line.hasSuffix("@plt>:") {
                let parts = line.split(separator: " ")
                guard parts.count == 2, let address = UInt64(parts[0], radix: 16) else { continue }
                expected[address] = String(parts[1].dropFirst().dropLast(2))
            }
            try XCTSkipIf(expected.isEmpty, "objdump shows no PLT stubs in \(path)")
            for (address, name) in expected {
                XCTAssertEqual(image.symbols.lookup(address)?.name, name, "\(path) at 0x\(String(address, radix: 16))")
                XCTAssertEqual(image.symbols.lookup(address + 4)?.name, name, "\(path): the whole stub")
            }
            checked += expected.count
            if let initSymbol = image.symbols.symbols(where: { $0 == "_init" }).first {
                XCTAssertLessThanOrEqual(initSymbol.end, expected.keys.min()!, "\(path): _init ends before the PLT")
            }
        }
        XCTAssertGreaterThan(checked, 100)
    }

    /// stackcollapse-perf.pl's tidying rules.
    func testTidy() {
        XCTAssertEqual(FrameTable.tidy("std::vector<int>::push_back(int const&)"), "std::vector<int>::push_back")
        XCTAssertEqual(FrameTable.tidy("(anonymous namespace)::helper(int)"), "(anonymous namespace)::helper")
        XCTAssertEqual(FrameTable.tidy("net/http.(*Client).Do"), "net/http.(*Client).Do")
        XCTAssertEqual(FrameTable.tidy("a;b"), "a:b")
        XCTAssertEqual(FrameTable.tidy("say \"hi\" 'x'"), "say hi x")
    }
}
