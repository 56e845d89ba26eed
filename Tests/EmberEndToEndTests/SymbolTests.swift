import Foundation
import XCTest

/// Symbols on real binaries: perf's names, inline chains, demangling, build-id checks and JIT maps.
final class SymbolTests: XCTestCase {
    private static let programs = Tool.packageRoot.appendingPathComponent("Tests/Programs").path

    /// Frames of a `perf script`-style text, per sample, leaf first: (address, symbol without offset, dso).
    private func samples(_ text: String) -> [[(address: String, symbol: String, dso: String)]] {
        var out: [[(String, String, String)]] = []
        var current: [(String, String, String)]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty {
                if let c = current { out.append(c) }
                current = nil
            } else if line.first == "\t" {
                let parts = line.drop { $0 == "\t" || $0 == " " }.split(separator: " ", maxSplits: 1)
                guard parts.count == 2, let open = parts[1].range(of: " (", options: .backwards) else { continue }
                var symbol = String(parts[1][..<open.lowerBound])
                if let plus = symbol.range(of: "+0x", options: .backwards) { symbol = String(symbol[..<plus.lowerBound]) }
                current?.append((String(parts[0]), symbol, String(parts[1][open.upperBound...].dropLast())))
            } else if !line.hasPrefix(" ") {
                current = []
            }
        }
        if let c = current { out.append(c) }
        return out
    }

    /// On perf's own recording, the leaf function of at least 99% of samples is the one perf names.
    func testLeafSymbolsAgreeWithPerfScript() throws {
        try requireRoot()
        try requirePerf()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/perf.data"
        XCTAssertEqual(try Tool.perf(["record", "-g", "-F", Tool.rate(1999), "-o", file, "--", try Tool.demo(), "1"]).status, 0)
        let perf = samples(try Tool.perf(["script", "--no-inline", "-i", file]).stdout)
        let ember = samples(try Tool.ember(["script", "--no-inline", "-i", file]).stdout)
        XCTAssertEqual(perf.count, ember.count)
        XCTAssertGreaterThan(perf.count, 1000)
        let same = zip(perf, ember).filter { $0.first?.symbol == $1.first?.symbol }.count
        XCTAssertGreaterThanOrEqual(Double(same) / Double(perf.count), 0.99)
    }

    /// Each inlined call is a frame of its own, with the chain addr2line -i reports for the same address.
    func testInlineChainsMatchAddr2line() throws {
        try requireRoot()
        let binary = try Tool.compileC(source: Self.programs + "/inline.c", name: "inline", flags: ["-O2", "-g", "-no-pie", "-fno-omit-frame-pointer"])
        let dir = try Tool.scratchDirectory()
        let file = dir + "/inline.data"
        XCTAssertEqual(try Tool.ember(["record", "-q", "-o", file, "--", binary]).status, 0)
        let inOuter = samples(try Tool.ember(["script", "-i", file]).stdout).filter { $0.last?.symbol == "outer" }
        XCTAssertGreaterThan(inOuter.count, 100)
        var checked = 0
        for sample in inOuter.prefix(40) {
            let a2l = try Tool.run("/usr/bin/addr2line", ["-i", "-f", "-e", binary, "0x" + sample[0].address])
            let functions = a2l.stdout.split(separator: "\n").enumerated().filter { $0.offset % 2 == 0 }.map { String($0.element) }
            XCTAssertEqual(sample.map(\.symbol), functions, "at 0x\(sample[0].address)")
            checked += 1
        }
        XCTAssertEqual(checked, 40)
        XCTAssertTrue(try Tool.ember(["collapse", "-i", file]).stdout.contains(";outer;middle_[i];leaf_[i] "))
        XCTAssertFalse(try Tool.ember(["collapse", "--no-inline", "-i", file]).stdout.contains("_[i]"))
    }

    /// Inline chains are kept under the binary's build-id in the cache directory: a second reading takes them from
    /// there and prints the same, and a damaged cache file is ignored (and replaced).
    func testInlineChainsAreCachedByBuildID() throws {
        try requireRoot()
        let binary = try Tool.compileC(source: Self.programs + "/inline.c", name: "inline", flags: ["-O2", "-g", "-fno-omit-frame-pointer"])
        let dir = try Tool.scratchDirectory()
        let file = dir + "/inline.data", cache = dir + "/cache"
        XCTAssertEqual(try Tool.ember(["record", "-q", "-o", file, "--", binary]).status, 0)
        func collapse() throws -> String {
            let r = try Tool.run("/usr/bin/env", ["XDG_CACHE_HOME=" + cache, Tool.emberPath, "collapse", "-i", file])
            XCTAssertEqual(r.status, 0, r.stderr)
            return r.stdout
        }
        let first = try collapse()
        XCTAssertTrue(first.contains(";outer;middle_[i];leaf_[i] "), first)
        let files = (try? FileManager.default.contentsOfDirectory(atPath: cache + "/ember"))?.filter { $0.hasPrefix("inline-v1-") } ?? []
        XCTAssertFalse(files.isEmpty, "a cache file per binary with a build-id")
        func inodes() -> [UInt64] {
            files.map { ((try? FileManager.default.attributesOfItem(atPath: cache + "/ember/" + $0))?[.systemFileNumber] as? UInt64) ?? 0 }
        }
        let before = inodes()
        XCTAssertEqual(try collapse(), first, "the cached chains give the same stacks")
        XCTAssertEqual(inodes(), before, "everything came from the cache, so nothing was written again")
        for name in files { try Data("EMBINL01 not really".utf8).write(to: URL(fileURLWithPath: cache + "/ember/" + name)) }
        XCTAssertEqual(try collapse(), first, "a damaged cache is ignored")
    }

    /// C++ names come out demangled: whole in script, without the argument list in folded stacks (unless
    /// --full-names).
    func testCxxNamesAreDemangled() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let binary = dir + "/widget"
        let cc = try Tool.run("/usr/bin/g++", ["-O2", "-g", "-o", binary, Self.programs + "/widget.cpp"])
        try XCTSkipIf(cc.status != 0, "g++ failed: \(cc.stderr)")
        let file = dir + "/widget.data"
        XCTAssertEqual(try Tool.ember(["record", "-q", "-o", file, "--", binary]).status, 0)
        XCTAssertTrue(try Tool.ember(["script", "-i", file]).stdout.contains(" shapes::Widget::spin(int)+0x"))
        let folded = try Tool.ember(["collapse", "-i", file]).stdout
        XCTAssertTrue(folded.contains(";shapes::Widget::spin "), folded)
        XCTAssertFalse(folded.contains("_ZN6shapes"))
        XCTAssertTrue(try Tool.ember(["collapse", "--full-names", "-i", file]).stdout.contains(";shapes::Widget::spin(int) "), "--full-names keeps them")
        XCTAssertTrue(try Tool.ember(["script", "--no-demangle", "-i", file]).stdout.contains("_ZN6shapes6Widget4spinEi"))
    }

    /// Swift frames are readable: short names by default and no `$s` names; the full form is `swift demangle`'s.
    func testSwiftNamesAreReadableAndAgreeWithSwiftDemangle() throws {
        try requireRoot()
        let binary = try Tool.sorter()
        let file = try Tool.scratchDirectory() + "/sorter.data"
        XCTAssertEqual(try Tool.ember(["record", "-g", "-q", "-o", file, "--", binary]).status, 0)
        let folded = try Tool.ember(["collapse", "-i", file]).stdout
        XCTAssertTrue(folded.contains("Sorter.sortMany(_:)"), folded)
        XCTAssertTrue(folded.contains("Matrix.multiply(_:)"), folded)
        XCTAssertFalse(folded.contains("$s"), "no mangled Swift names")
        let raw = samples(try Tool.ember(["script", "--no-demangle", "--no-inline", "-i", file]).stdout).flatMap { $0 }
        let full = samples(try Tool.ember(["script", "--demangle=full", "--no-inline", "-i", file]).stdout).flatMap { $0 }
        XCTAssertEqual(raw.count, full.count)
        let pairs = Dictionary(zip(raw.map(\.symbol), full.map(\.symbol)).filter { $0.0.hasPrefix("$s") }, uniquingKeysWith: { a, _ in a })
        XCTAssertGreaterThan(pairs.count, 2)
        let names = Array(pairs.keys).sorted()
        let reference = try Tool.run("/usr/bin/env", ["swift", "demangle", "--compact"] + names)
        XCTAssertEqual(reference.stdout.split(separator: "\n").map(String.init), names.map { pairs[$0]! })
    }

    /// A binary rebuilt after the recording is not trusted: one warning, and its frames show as [unknown].
    func testRebuiltBinaryIsNotTrusted() throws {
        try requireRoot()
        let (binary, file) = try Tool.recordedDemoCopy()
        let source = Tool.packageRoot.appendingPathComponent("Demo/demo.c").path
        XCTAssertTrue(try Tool.ember(["collapse", "-i", file]).stdout.contains("spin_primes"))
        XCTAssertEqual(try Tool.run("/usr/bin/gcc", ["-O1", "-g", "-fno-omit-frame-pointer", "-o", binary, source]).status, 0)
        let after = try Tool.ember(["collapse", "-i", file])
        XCTAssertEqual(after.status, 0)
        XCTAssertEqual(after.stderr.components(separatedBy: "changed since it was recorded").count - 1, 1, after.stderr)
        XCTAssertFalse(after.stdout.contains("spin_primes"), "no names from the wrong binary")
        XCTAssertTrue(after.stdout.contains("[demo]"))
    }

    /// JIT code in anonymous memory resolves through the process's /tmp/perf-PID.map.
    func testPerfMapResolvesJITFrames() throws {
        try requireRoot()
        let binary = try Tool.compileC(source: Self.programs + "/jit.c", name: "jit", flags: ["-O2"])
        let dir = try Tool.scratchDirectory()
        let file = dir + "/jit.data"
        XCTAssertEqual(try Tool.ember(["record", "-q", "-o", file, "--", binary]).status, 0)
        let folded = parseFolded(try Tool.ember(["collapse", "-i", file, "--count"]).stdout)
        let jit = folded.filter { $0.key.hasSuffix(";jit_spin_loop") }.values.reduce(0, +)
        XCTAssertGreaterThan(Double(jit), 0.8 * Double(folded.values.reduce(0, +)), "\(folded)")
        let script = try Tool.ember(["script", "-i", file]).stdout
        XCTAssertTrue(script.contains("jit_spin_loop+0x"))
        XCTAssertTrue(script.contains("(/tmp/perf-"))
    }
}

/// Broken binaries and debug info: one warning per binary, `[unknown]` or ELF-symbol frames, never a crash.
final class BrokenSymbolTests: XCTestCase {
    /// A binary replaced by garbage after recording, and one whose DWARF was scribbled over (build-id intact).
    func testCorruptELFAndDWARF() throws {
        try requireRoot()
        let (binary, file) = try Tool.recordedDemoCopy()

        // Scribble over .debug_info and .debug_line, keeping the ELF headers and build-id note.
        let sections = try Tool.run("/usr/bin/readelf", ["-S", "-W", binary]).stdout
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: binary)))
        for name in [".debug_info", ".debug_line", ".debug_abbrev"] {
            guard let line = sections.split(separator: "\n").first(where: { $0.contains(" \(name) ") }) else { continue }
            let fields = line.split(separator: "]").last!.split(separator: " ")
            let offset = Int(fields[3], radix: 16)!, size = Int(fields[4], radix: 16)!
            for i in offset..<min(offset + size, bytes.count) { bytes[i] = UInt8(truncatingIfNeeded: i &* 131 &+ 7) }
        }
        try Data(bytes).write(to: URL(fileURLWithPath: binary))
        let scribbled = try Tool.ember(["script", "--srcline", "-i", file])
        XCTAssertEqual(scribbled.status, 0, scribbled.stderr)
        XCTAssertTrue(scribbled.stdout.contains("spin_primes+0x"), "ELF symbols still name the frames")

        // Not an ELF file at all.
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: binary))
        let garbage = try Tool.ember(["collapse", "-i", file])
        XCTAssertEqual(garbage.status, 0, garbage.stderr)
        XCTAssertEqual(garbage.stderr.components(separatedBy: binary).count - 1, 1, "one warning for the binary: \(garbage.stderr)")
        XCTAssertTrue(garbage.stdout.contains("[demo]"))

        // Gone.
        try FileManager.default.removeItem(atPath: binary)
        let gone = try Tool.ember(["collapse", "-i", file])
        XCTAssertEqual(gone.status, 0)
        XCTAssertTrue(gone.stderr.contains("cannot open \(binary)"), gone.stderr)
    }
}
