import Foundation
import XCTest

/// `ember archive`: one file that reads elsewhere as the recording read here, byte for byte, with the binaries
/// gone or rebuilt.
final class ArchiveTests: XCTestCase {
    /// What each reading command prints or writes for `file`, run in `dir` (so that the outputs that name their
    /// input name the same file).
    private func readings(_ file: String, in dir: String) throws -> [String: Data] {
        let commands: [(String, [String], String?)] = [
            ("script", ["script", "-i", file], nil),
            ("script --srcline", ["script", "--srcline", "-i", file], nil),
            ("script --summary", ["script", "--summary", "-i", file], nil),
            ("collapse", ["collapse", "-i", file], nil),
            ("collapse --no-inline", ["collapse", "--no-inline", "-i", file], nil),
            ("report -g caller", ["report", "-g", "caller", "-i", file], nil),
            ("report --sort sym,srcline", ["report", "--sort", "sym,srcline", "-i", file], nil),
            ("annotate", ["annotate", "-i", file], nil),
            ("annotate -M intel --source-only", ["annotate", "-M", "intel", "--source-only", "-i", file], nil),
            ("flamegraph", ["flamegraph", "-i", file, "-o", "out.svg"], "out.svg"),
            ("pprof", ["pprof", "-i", file, "-o", "out.pb.gz"], "out.pb.gz"),
            ("speedscope", ["export", "--format", "speedscope", "-i", file, "-o", "out.json"], "out.json"),
            ("firefox", ["export", "--format", "firefox", "-i", file, "-o", "out.json.gz"], "out.json.gz"),
        ]
        var out: [String: Data] = [:]
        for (name, arguments, written) in commands {
            let r = try Tool.ember(arguments, cwd: dir)
            XCTAssertEqual(r.status, 0, "\(name): \(r.stderr)")
            out[name] = try written.map { try Data(contentsOf: URL(fileURLWithPath: dir + "/" + $0)) } ?? Data(r.stdout.utf8)
        }
        return out
    }

    /// Frame-pointer and DWARF recordings of a program, archived, read after the program was rebuilt otherwise
    /// (its old build-id gone): every reading command gives what it gave on the original, byte for byte.
    func testArchiveReadsAsTheRecordingDid() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let original = dir + "/original", moved = dir + "/elsewhere"
        try FileManager.default.createDirectory(atPath: original, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: moved, withIntermediateDirectories: true)
        let source = Tool.packageRoot.appendingPathComponent("Demo/demo.c").path
        let binary = dir + "/demo"
        XCTAssertEqual(try Tool.run("/usr/bin/gcc", ["-O2", "-g", "-fno-omit-frame-pointer", "-o", binary, source]).status, 0)
        for (file, mode) in [("fp.data", ["-g"]), ("dwarf.data", ["--call-graph", "dwarf"])] {
            let r = try Tool.ember(["record", "-q"] + mode + ["-o", original + "/" + file, "--", binary, "0.2"])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        var before: [String: [String: Data]] = [:]
        for file in ["fp.data", "dwarf.data"] {
            before[file] = try readings(file, in: original)
            let a = try Tool.ember(["archive", "-i", original + "/" + file, "-o", moved + "/" + file])
            XCTAssertEqual(a.status, 0, a.stderr)
            XCTAssertTrue(a.stderr.contains("bytes (the recording"), a.stderr)
        }
        // The program rebuilt: the same path, another build-id and other code.
        XCTAssertEqual(try Tool.run("/usr/bin/gcc", ["-O0", "-o", binary, source]).status, 0)
        for file in ["fp.data", "dwarf.data"] {
            let after = try readings(file, in: moved)
            for (name, bytes) in before[file]! {
                XCTAssertFalse(bytes.isEmpty, "\(file) \(name)")
                XCTAssertTrue(after[name] == bytes, "\(file): \(name) differs on the archive")
            }
        }
        // The original now names the rebuilt program's frames [unknown]; the archive kept them.
        XCTAssertTrue(try Tool.ember(["collapse", "-i", original + "/fp.data"]).stdout.contains("[demo]"))
        XCTAssertTrue(try Tool.ember(["collapse", "-i", moved + "/fp.data"]).stdout.contains(";spin_primes"))
    }

    /// Tracepoints (with kernel symbols in their fields) and a latency recording read the same from an archive.
    func testTracepointsAndLatency() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/lat.data"
        XCTAssertEqual(try Tool.ember(["latency", "--offcpu", "-o", file, "--", "/bin/sh", "-c", "sleep 0.1; ls / > /dev/null"]).status, 0)
        XCTAssertEqual(try Tool.ember(["archive", "-i", file]).status, 0)
        for arguments in [["latency", "--json"], ["script"], ["flamegraph", "--offcpu", "-o", "-"]] {
            let a = try Tool.ember(arguments + ["-i", file]), b = try Tool.ember(arguments + ["-i", file + ".ember"])
            XCTAssertEqual(a.status, 0, a.stderr)
            XCTAssertEqual(b.stdout.replacingOccurrences(of: file + ".ember", with: file), a.stdout, "\(arguments)")
        }
    }

    /// What an archive refuses, each with one clear line: options it holds nothing for, a newer format, a
    /// corrupt file, an archive of an archive.
    func testArchiveErrors() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/r.data", archive = dir + "/r.data.ember"
        XCTAssertEqual(try Tool.ember(["record", "-q", "-o", file, "--", try Tool.demo(), "0.1"]).status, 0)
        XCTAssertEqual(try Tool.ember(["archive", "-i", file]).status, 0)
        for arguments in [["script", "--perf-compat"], ["collapse", "--unwinder", "libunwind"], ["report", "--symfs", "/"]] {
            let r = try Tool.ember(arguments + ["-i", archive])
            XCTAssertEqual(r.status, 1, "\(arguments)")
            XCTAssertTrue(r.stderr.contains("an archive holds Ember's own symbols and unwinds"), r.stderr)
        }
        let again = try Tool.ember(["archive", "-i", archive, "-o", dir + "/twice.ember"])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains("is an archive already"), again.stderr)

        var bytes = try Data(contentsOf: URL(fileURLWithPath: archive))
        var newer = bytes
        newer[8] = 99
        try newer.write(to: URL(fileURLWithPath: dir + "/newer.ember"))
        let n = try Tool.ember(["script", "-i", dir + "/newer.ember"])
        XCTAssertEqual(n.status, 1)
        XCTAssertTrue(n.stderr.contains("written by a newer Ember (format 99"), n.stderr)
        for cut in [20, 60, bytes.count / 2, bytes.count - 3] {
            try bytes.prefix(cut).write(to: URL(fileURLWithPath: dir + "/cut.ember"))
            let r = try Tool.ember(["script", "-i", dir + "/cut.ember"])
            XCTAssertEqual(r.status, 1, "cut at \(cut): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").filter { $0.hasPrefix("ember: error:") }.count, 1, r.stderr)
        }
        bytes[bytes.count - 10] ^= 0xff
        try bytes.write(to: URL(fileURLWithPath: dir + "/flipped.ember"))
        XCTAssertLessThanOrEqual(try Tool.ember(["script", "-i", dir + "/flipped.ember"]).status, 1, "a flipped byte: an error or a reading, never a crash")
    }
}
