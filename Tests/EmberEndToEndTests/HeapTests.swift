import Foundation
import XCTest

/// Heap profiles: `record --heap` through libember-heap.so (built by `make shim` beside ember), read back by
/// allocation site, checked against what the fixture allocates.
final class HeapTests: XCTestCase {
    private static let programs = Tool.packageRoot.appendingPathComponent("Tests/Programs").path
    /// What heapsites.c allocates at each site, and keeps.
    private static let sites: [(name: String, allocated: Double, kept: Double, blocks: Double)] = [
        ("keep_4k", 40 * 1048576, 40 * 1048576, 10240),
        ("churn_1k", 100 * 1048576, 0, 102400),
        ("keep_64k", 10 * 1048576, 10 * 1048576, 160),
    ]

    static func shim() throws -> String {
        let path = URL(fileURLWithPath: Tool.emberPath).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("libember-heap.so").path
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("no \(path): make test builds it (make shim)")
            throw XCTSkip("no heap shim")
        }
        return path
    }

    private func heapsites() throws -> String {
        try Tool.compileC(source: Self.programs + "/heapsites.c", name: "heapsites", flags: ["-O1", "-g", "-fno-omit-frame-pointer", "-fno-builtin"])
    }

    /// Folded weights summed by the fixture's site names (each stack's frame below `malloc`).
    private func bySite(_ folded: String) -> [String: Double] {
        var sums: [String: Double] = [:]
        for (stack, weight) in parseFolded(folded) {
            let frames = stack.split(separator: ";")
            guard let site = Self.sites.first(where: { frames.contains(Substring($0.name)) }) else { continue }
            sums[site.name, default: 0] += Double(weight)
        }
        return sums
    }

    private func assertNear(_ value: Double?, _ truth: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let value else { return XCTFail("\(what): nothing", file: file, line: line) }
        XCTAssertLessThan(abs(value - truth) / truth, 0.10, "\(what): \(Int(value)) against \(Int(truth))", file: file, line: line)
    }

    /// The three sites by bytes allocated, in use and leaked (and by allocations), within 10% of what the fixture
    /// does; the freed site has nothing in use. The rate is 16 KiB: at the default 512 KiB, the 160 blocks of
    /// 64 KiB are sampled about 19 times, a standard error of 22%.
    func testFixtureSitesByBytes() throws {
        try requireRoot()
        let program = try heapsites()
        _ = try Self.shim()
        let file = try Tool.scratchDirectory() + "/heap.data"
        let r = try Tool.ember(["record", "-q", "--heap", "--heap-rate", "16K", "-g", "-o", file, "--", program])
        XCTAssertEqual(r.status, 0, r.stderr)
        let alloc = try Tool.ember(["collapse", "-i", file, "--heap", "alloc"])
        XCTAssertEqual(alloc.status, 0, alloc.stderr)
        XCTAssertEqual(try Tool.ember(["collapse", "-i", file]).stdout, alloc.stdout, "a heap recording folds as alloc by default")
        let allocated = bySite(alloc.stdout)
        for site in Self.sites { assertNear(allocated[site.name], site.allocated, "\(site.name) allocated") }
        XCTAssertEqual(Set(parseFolded(alloc.stdout).keys.compactMap { $0.split(separator: ";").last.map(String.init) }),
                       Set(Self.sites.map(\.name)), "each stack ends at the call that allocated, without the shim's malloc:\n\(alloc.stdout)")
        for mode in ["inuse", "leaks", "peak"] {
            let folded = try Tool.ember(["collapse", "-i", file, "--heap", mode])
            XCTAssertEqual(folded.status, 0, folded.stderr)
            let sums = bySite(folded.stdout)
            XCTAssertNil(sums["churn_1k"], "\(mode): the freed site has nothing")
            for site in Self.sites where site.kept > 0 { assertNear(sums[site.name], site.kept, "\(site.name) \(mode)") }
        }
        let objects = bySite(try Tool.ember(["collapse", "-i", file, "--heap", "alloc", "--count"]).stdout)
        for site in Self.sites { assertNear(objects[site.name], site.blocks, "\(site.name) allocations") }
        // report's Self column: the sites by bytes in use.
        let report = try Tool.ember(["report", "-i", file, "--heap", "inuse", "--no-children", "--sort", "symbol"])
        XCTAssertEqual(report.status, 0, report.stderr)
        let rows = reportRows(report.stdout)
        XCTAssertEqual(rows.count, 2, report.stdout)
        XCTAssertTrue(rows.first?.hasSuffix("keep_4k") == true && rows.last?.hasSuffix("keep_64k") == true, report.stdout)
        try checkPprof(file, folded: ["alloc": allocated, "inuse": bySite(try Tool.ember(["collapse", "-i", file, "--heap", "inuse"]).stdout),
                                      "alloc_objects": objects])
        // perf reads the recording: every alloc and free sample.
        try requirePerf()
        let samples = try Tool.ember(["script", "-i", file, "-G"]).stdout.split(separator: "\n").count
        let perf = try Tool.perf(["script", "-i", file, "-G"])
        XCTAssertEqual(perf.status, 0, perf.stderr)
        XCTAssertEqual(perf.stdout.split(separator: "\n").count, samples, "perf script reads every sample")
    }

    /// `--heap peak`: what was in use when the process's heap was largest, which the end no longer shows: 20 MiB
    /// allocated and freed before 5 MiB more are kept.
    func testPeakIsNotTheEnd() throws {
        try requireRoot()
        _ = try Self.shim()
        let dir = try Tool.scratchDirectory()
        try """
            #include <stdlib.h>
            static void *volatile blocks[320];
            __attribute__((noinline)) void grow(void) { for (int i = 0; i < 320; i++) blocks[i] = malloc(65536); }
            __attribute__((noinline)) void shrink(void) { for (int i = 0; i < 320; i++) free(blocks[i]); }
            __attribute__((noinline)) void after(void) { for (int i = 0; i < 80; i++) blocks[i] = malloc(65536); }
            int main(void) { grow(); shrink(); after(); return 0; }
            """.write(toFile: dir + "/peak.c", atomically: true, encoding: .utf8)
        let program = try Tool.compileC(source: dir + "/peak.c", name: "peak", flags: ["-O1", "-g", "-fno-omit-frame-pointer", "-fno-builtin"])
        let file = dir + "/peak.data"
        XCTAssertEqual(try Tool.ember(["record", "-q", "--heap", "--heap-rate", "16K", "-g", "-o", file, "--", program]).status, 0)
        let peak = try byLeaf(file, "peak"), end = try byLeaf(file, "inuse")
        assertNear(peak["grow"], 20 * 1048576, "grow at the peak")
        XCTAssertNil(peak["after"], "after came later: \(peak)")
        assertNear(end["after"], 5 * 1048576, "after at the end")
        XCTAssertNil(end["grow"], "grow was freed: \(end)")
    }

    /// `collapse --heap MODE`'s weights summed by each stack's leaf (the allocating function).
    private func byLeaf(_ file: String, _ mode: String) throws -> [String: Double] {
        var out: [String: Double] = [:]
        for (stack, weight) in parseFolded(try Tool.ember(["collapse", "-i", file, "--heap", mode]).stdout) {
            out[String(stack.split(separator: ";").last ?? ""), default: 0] += Double(weight)
        }
        return out
    }

    /// A process that execs leaves its image's blocks unfreed: they are leaks, and neither the new image's peak nor
    /// its addresses count them. 10 MiB kept before an exec of itself, 5 MiB kept after: the peak is the first
    /// image's 10 MiB (not 15 MiB at the end).
    func testExecEndsTheImagesBlocks() throws {
        try requireRoot()
        _ = try Self.shim()
        let dir = try Tool.scratchDirectory()
        try """
            #include <stdlib.h>
            #include <unistd.h>
            static void *volatile blocks[160];
            __attribute__((noinline)) void before_exec(void) { for (int i = 0; i < 160; i++) blocks[i] = malloc(65536); }
            __attribute__((noinline)) void after_exec(void) { for (int i = 0; i < 80; i++) blocks[i] = malloc(65536); }
            int main(int argc, char **argv) {
                if (argc > 1) { after_exec(); return 0; }
                before_exec();
                execl("/proc/self/exe", argv[0], "again", (char *)0);
                return 1;
            }
            """.write(toFile: dir + "/execs.c", atomically: true, encoding: .utf8)
        let program = try Tool.compileC(source: dir + "/execs.c", name: "execs", flags: ["-O1", "-g", "-fno-omit-frame-pointer", "-fno-builtin"])
        let file = dir + "/execs.data"
        XCTAssertEqual(try Tool.ember(["record", "-q", "--heap", "--heap-rate", "16K", "-g", "-o", file, "--", program]).status, 0)
        let leaks = try byLeaf(file, "leaks"), peak = try byLeaf(file, "peak")
        assertNear(leaks["before_exec"], 10 * 1048576, "the first image's blocks leaked at its exec")
        assertNear(leaks["after_exec"], 5 * 1048576, "the second's at its exit")
        assertNear(peak["before_exec"], 10 * 1048576, "the first image's blocks at the peak")
        XCTAssertNil(peak["after_exec"], "the second image's heap never grew as large: \(peak)")
    }

    /// The pprof profile has a Go heap profile's four sample types, inuse_space first in viewers, and go tool pprof
    /// gives each site the bytes and allocations `collapse` does.
    private func checkPprof(_ file: String, folded: [String: [String: Double]]) throws {
        try requireGo()
        let profile = try Tool.scratchDirectory() + "/heap.pb.gz"
        let r = try Tool.ember(["pprof", "-i", file, "-o", profile])
        XCTAssertEqual(r.status, 0, r.stderr)
        let top = try Tool.run("/usr/bin/go", ["tool", "pprof", "-top", profile])
        XCTAssertTrue(top.stdout.contains("Type: inuse_space"), top.stdout + top.stderr)
        for (mode, index) in [("alloc", "alloc_space"), ("inuse", "inuse_space"), ("alloc_objects", "alloc_objects")] {
            let text = try Tool.run("/usr/bin/go", ["tool", "pprof", "-top", "-nodefraction=0", "-unit=B", "-sample_index=\(index)", profile]).stdout
            for site in Self.sites {
                // `flat flat% sum% cum cum% name`: the site's cumulative value, in bytes (or a bare count).
                let line = text.split(separator: "\n").first { $0.hasSuffix(" " + site.name) }
                let cum = line.flatMap { $0.split(separator: " ").dropFirst(3).first }.flatMap { Double($0.filter(\.isNumber)) }
                XCTAssertEqual(cum ?? 0, folded[mode]?[site.name] ?? 0, "\(index) of \(site.name): \(line ?? "none")")
            }
        }
    }

    /// `-p`: a process started with the shim preloaded is recorded from when Ember attaches; its exit makes its
    /// live blocks leaks.
    func testAttachToPreloadedProcess() throws {
        try requireRoot()
        let program = try heapsites(), shim = try Self.shim()
        let child = Process()
        child.executableURL = URL(fileURLWithPath: program)
        child.arguments = ["700", "0"]
        child.environment = ["LD_PRELOAD": shim, "EMBER_HEAP_RATE": "16384"]
        try child.run()
        let file = try Tool.scratchDirectory() + "/p.data"
        let r = try Tool.ember(["record", "-q", "--heap", "-g", "-o", file, "-p", String(child.processIdentifier)])
        child.waitUntilExit()
        XCTAssertEqual(r.status, 0, r.stderr)
        let leaks = bySite(try Tool.ember(["collapse", "-i", file, "--heap", "leaks"]).stdout)
        for site in Self.sites where site.kept > 0 { assertNear(leaks[site.name], site.kept, "\(site.name) leaked") }
        XCTAssertNil(leaks["churn_1k"])
    }

    /// A Swift program's class instances are allocated through swift_allocObject, which reaches malloc: they show
    /// under the Swift function that created them, through DWARF stacks (the Swift runtime keeps frame pointers,
    /// the program need not).
    func testSwiftAllocationSitesWithDwarf() throws {
        try requireRoot()
        _ = try Self.shim()
        let dir = try Tool.scratchDirectory()
        let source = dir + "/objects.swift", binary = dir + "/objects"
        try """
            final class Node { var next: Node?; var payload = (0, 0, 0, 0, 0, 0, 0, 0) }
            @inline(never) func buildList(_ n: Int) -> Node? {
                var head: Node?
                for _ in 0..<n { let node = Node(); node.next = head; head = node }
                return head
            }
            var kept: [Node?] = []
            for _ in 0..<200 { kept.append(buildList(1000)) }
            print(kept.count)
            """.write(toFile: source, atomically: true, encoding: .utf8)
        let built = try Tool.run("/usr/bin/env", ["swiftc", "-O", "-g", "-o", binary, source])
        XCTAssertEqual(built.status, 0, built.stderr)
        let file = dir + "/swift.data"
        let r = try Tool.ember(["record", "-q", "--heap", "--heap-rate", "64K", "--call-graph", "dwarf", "-o", file, "--", binary])
        XCTAssertEqual(r.status, 0, r.stderr)
        let folded = parseFolded(try Tool.ember(["collapse", "-i", file, "--heap", "inuse"]).stdout)
        let total = folded.values.reduce(0, +)
        // The stacks end at buildList: the runtime's swift_allocObject and swift_slowAlloc are left out.
        let underBuild = folded.filter { $0.key.hasSuffix(";buildList(_:)") }.values.reduce(0, +)
        // 200,000 nodes of 96 bytes (16 of header, 8 of next, 64 of payload, rounded) are kept.
        XCTAssertGreaterThan(Double(underBuild), 0.8 * 200_000 * 88, "buildList's nodes in use:\n\(folded.sorted { $0.value > $1.value }.prefix(5))")
        XCTAssertGreaterThan(Double(underBuild) / Double(total), 0.8)
    }

    /// C++ with frame pointers (`-g`): each stack ends at the function that called operator new, which libstdc++
    /// reaches without a frame pointer of its own, so that its chain skipped that function (the allocations showed
    /// under its caller) until the leaf repair took the alloc probe's stack too.
    func testCppAllocationSitesWithFramePointers() throws {
        try requireRoot()
        _ = try Self.shim()
        let dir = try Tool.scratchDirectory()
        try """
            #include <vector>
            __attribute__((noinline)) void keep(std::vector<int *> &v) { for (int i = 0; i < 2000; i++) v.push_back(new int[1024]); }
            int main() { std::vector<int *> v; keep(v); return v.empty(); }
            """.write(toFile: dir + "/keep.cpp", atomically: true, encoding: .utf8)
        let binary = dir + "/keep"
        let built = try Tool.run("/usr/bin/g++", ["-O1", "-g", "-fno-omit-frame-pointer", "-o", binary, dir + "/keep.cpp"])
        XCTAssertEqual(built.status, 0, built.stderr)
        let file = dir + "/keep.data"
        XCTAssertEqual(try Tool.ember(["record", "-q", "--heap", "--heap-rate", "4K", "-g", "-o", file, "--", binary]).status, 0)
        // 4 KiB: about 2,000 samples of the 8 MiB, a standard error of 2% (16 KiB's 500 once came out 11% high).
        let sites = try byLeaf(file, "inuse")
        assertNear(sites["keep"], 2000 * 4096, "keep's new int[1024] (\(sites))")
        XCTAssertNil(sites["operator new"], "operator new is left out: \(sites)")
        XCTAssertLessThan(sites["main"] ?? 0, 0.05 * 2000 * 4096, "nothing of keep's under main: \(sites)")
    }

    /// `--heap-uprobes`: every malloc and free of libc, no shim; a tenth of the fixture (16 rounds) so that the
    /// rings keep every event, and then each site's bytes are exact. Each stack has the function that called
    /// malloc, which the kernel's frame-pointer chain skips at malloc's entry (the leaf repair puts it back).
    func testUprobesSeeEveryMalloc() throws {
        try requireRoot()
        let program = try heapsites()
        let file = try Tool.scratchDirectory() + "/uprobes.data"
        let r = try Tool.ember(["record", "--heap-uprobes", "-g", "-o", file, "--", program, "0", "0", "16"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("many times slower"), r.stderr)
        XCTAssertTrue(r.stderr.contains(" 0 lost"), "every event kept: \(r.stderr)")
        let allocated = bySite(try Tool.ember(["collapse", "-i", file, "--heap", "alloc"]).stdout)
        let inUse = bySite(try Tool.ember(["collapse", "-i", file, "--heap", "inuse"]).stdout)
        for site in Self.sites {
            XCTAssertEqual(allocated[site.name], site.allocated / 10, site.name)
            XCTAssertEqual(inUse[site.name], site.kept > 0 ? site.kept / 10 : nil, site.name)
        }
        let leaves = Set(parseFolded(try Tool.ember(["collapse", "-i", file]).stdout).keys.compactMap { $0.split(separator: ";").last })
        XCTAssertEqual(leaves, Set(Self.sites.map { Substring($0.name) }), "stacks end at the caller of malloc")
    }

    /// What the shim costs, checked where it cannot drift: while nobody listens, each entry point is the branch on its
    /// semaphore and a jump to the allocator underneath (free and realloc also check for the bootstrap arena and for
    /// sampled blocks still live), no frame and no stack traffic; attached at the default rate, the probes fire about once per 512 KiB allocated (the fixture's
    /// 150 MiB: about 300 samples), not per call. The times are in Benchmarks/ (section 16).
    func testShimCost() throws {
        let shim = try Self.shim()
        // One site per probe: each copy would be an event of its own, which the readers would not all fold.
        let notes = try Tool.run("/usr/bin/readelf", ["-n", shim]).stdout
        XCTAssertEqual(notes.components(separatedBy: "Name: alloc\n").count - 1, 1, notes)
        XCTAssertEqual(notes.components(separatedBy: "Name: free\n").count - 1, 1, notes)
        let text = try Tool.run("/usr/bin/objdump", ["-d", "--no-show-raw-insn", shim]).stdout
        for (function, limit) in [("malloc", 4), ("calloc", 4), ("posix_memalign", 4), ("free", 9), ("realloc", 12)] {
            let lines = text.components(separatedBy: "<\(function)>:\n").dropFirst().first?.split(separator: "\n") ?? []
            guard let jump = lines.firstIndex(where: { $0.contains("jmp    *") }) else {
                XCTFail("\(function): no jump to the allocator underneath:\n\(lines.prefix(20).joined(separator: "\n"))")
                continue
            }
            let path = lines[..<jump]
            XCTAssertLessThanOrEqual(path.count + 1, limit, "\(function)'s idle path:\n\(lines[...jump].joined(separator: "\n"))")
            let mnemonics = path.compactMap { $0.split(separator: "\t").last?.split(separator: " ").first }
            XCTAssertFalse(mnemonics.contains { $0.hasPrefix("push") || $0.hasPrefix("call") }, "\(function) idles without a frame or a call: \(mnemonics)")
        }
        try requireRoot()
        let program = try heapsites()
        let file = try Tool.scratchDirectory() + "/rate.data"
        XCTAssertEqual(try Tool.ember(["record", "-q", "--heap", "-o", file, "--", program]).status, 0)
        let events = try Tool.ember(["script", "-i", file, "-G"]).stdout.split(separator: "\n")
        let allocs = events.filter { $0.contains("ember:alloc") }.count, frees = events.filter { $0.contains("ember:free") }.count
        XCTAssertTrue((200...400).contains(allocs), "150 MiB at 512 KiB: about 300 samples, not \(allocs)")
        XCTAssertLessThanOrEqual(frees, allocs, "only sampled blocks' frees fire")
    }

    func testMistakesAreOneLineErrors() throws {
        try requireRoot()
        let program = try heapsites()
        let dir = try Tool.scratchDirectory()
        // A process started without the shim: how to start it.
        let bare = Process()
        bare.executableURL = URL(fileURLWithPath: "/bin/sleep")
        bare.arguments = ["5"]
        try bare.run()
        defer { bare.terminate() }
        let p = try Tool.ember(["record", "--heap", "-p", String(bare.processIdentifier), "-o", dir + "/x.data"])
        XCTAssertNotEqual(p.status, 0)
        XCTAssertTrue(p.stderr.contains("LD_PRELOAD=") && p.stderr.contains("libember-heap.so"), p.stderr)
        XCTAssertEqual(p.stderr.split(separator: "\n").count, 1, p.stderr)
        for (arguments, expected) in [
            (["record", "--heap", "-a", "-o", dir + "/a.data", "--duration", "0.1"], "not every CPU"),
            (["record", "--heap-rate", "1K", "-o", dir + "/b.data", "--", program], "goes with --heap"),
            (["record", "--heap", "--heap-rate", "lots", "-o", dir + "/c.data", "--", program], "--heap-rate takes"),
            (["record", "--heap", "--heap-rate", "5ß", "-o", dir + "/d.data", "--", program], "--heap-rate takes"),
            (["record", "-m", "5ß", "-o", dir + "/e.data", "--", program], "-m takes"),
        ] {
            let r = try Tool.ember(arguments)
            XCTAssertNotEqual(r.status, 0, arguments.joined(separator: " "))
            XCTAssertTrue(r.stderr.contains(expected), r.stderr)
        }
        // A CPU recording read as a heap profile.
        let cpu = dir + "/cpu.data"
        XCTAssertEqual(try Tool.ember(["record", "-q", "-o", cpu, "--", program]).status, 0)
        let wrong = try Tool.ember(["collapse", "-i", cpu, "--heap", "inuse"])
        XCTAssertNotEqual(wrong.status, 0)
        XCTAssertTrue(wrong.stderr.contains("record --heap"), wrong.stderr)
        // One's own uprobe on malloc is not a heap recording: its calls are counted, as before.
        let probed = dir + "/probed.data"
        XCTAssertEqual(try Tool.ember(["record", "-q", "-e", "uprobe:libc:malloc", "-o", probed, "--", program, "0", "0", "1"]).status, 0)
        let calls = try Tool.ember(["collapse", "-i", probed])
        XCTAssertEqual(calls.status, 0, calls.stderr)
        XCTAssertGreaterThanOrEqual(parseFolded(calls.stdout).values.reduce(0, +), 705, "a call a sample: \(calls.stdout)")
    }
}
