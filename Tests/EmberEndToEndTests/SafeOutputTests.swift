import Foundation
import XCTest

/// No Ember command removes or truncates a file it did not create, and no output path can make it block.
final class SafeOutputTests: XCTestCase {
    private struct Identity: Equatable {
        var device: UInt64, inode: UInt64, mode: UInt32, size: Int64
        init?(_ path: String) {
            var st = stat()
            guard lstat(path, &st) == 0 else { return nil }
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
            mode = st.st_mode
            size = Int64(st.st_size)
        }
    }

    /// Devices, FIFOs, sockets, directories and symlinks are refused by every writer before it opens anything,
    /// and are left exactly as they were.
    func testSpecialFilesAreRefusedAndLeftAlone() throws {
        let dir = try Tool.scratchDirectory()
        let fifo = dir + "/fifo", link = dir + "/link", target = dir + "/target", sub = dir + "/sub"
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        try "precious".write(toFile: target, atomically: true, encoding: .utf8)
        XCTAssertEqual(symlink(target, link), 0)
        XCTAssertEqual(mkdir(sub, 0o755), 0)
        let recording = try recordDemo(dir)
        let cases: [(path: String, kind: String)] = [
            ("/dev/full", "device"), ("/dev/null", "device"), (fifo, "FIFO"), (link, "symbolic link"), (sub, "directory"),
        ]
        for (path, kind) in cases {
            let before = Identity(path)
            let commands: [[String]] = [
                ["record", "-q", "-o", path, "--", "/bin/true"],
                ["record", "-q", "-o", path, "--", "no-such-command-ember-test"],
                ["flamegraph", "-i", recording, "-o", path],
                ["pprof", "-i", recording, "-o", path],
            ]
            for arguments in commands {
                let r = try Tool.ember(arguments, timeout: 20)
                XCTAssertEqual(r.status, 1, "\(arguments): \(r.stderr)")
                XCTAssertTrue(r.stderr.contains("is a \(kind), not a regular file"), "\(arguments): \(r.stderr)")
                XCTAssertEqual(Identity(path), before, "\(arguments) changed \(path)")
            }
        }
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "precious", "a symlink's target is never written")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".") }, [],
                       "no temporary file is left behind")
    }

    /// A recording that fails before it starts touches neither FILE nor FILE.old; one that succeeds moves FILE
    /// to FILE.old and says when an older FILE.old was replaced.
    func testFailedRecordingKeepsTheExistingFileAndOld() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let file = dir + "/keep.data"
        try "current".write(toFile: file, atomically: true, encoding: .utf8)
        try "older".write(toFile: file + ".old", atomically: true, encoding: .utf8)
        let failed = try Tool.ember(["record", "-q", "-o", file, "--", "no-such-command-ember-test"])
        XCTAssertEqual(failed.status, 127)
        XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8), "current")
        XCTAssertEqual(try String(contentsOfFile: file + ".old", encoding: .utf8), "older")
        let ok = try Tool.ember(["record", "-o", file, "--", "/bin/true"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stderr.contains("replaced \(file).old"), ok.stderr)
        XCTAssertEqual(try String(contentsOfFile: file + ".old", encoding: .utf8), "current")
    }

    /// Other writers replace a regular file whole, through a temporary file, and `-o -` writes to stdout.
    func testFlameGraphAndPprofReplaceRegularFilesAndWriteStdout() throws {
        try requireRoot()
        let dir = try Tool.scratchDirectory()
        let recording = try recordDemo(dir)
        let svg = dir + "/flame.svg"
        try String(repeating: "x", count: 1 << 20).write(toFile: svg, atomically: true, encoding: .utf8)
        XCTAssertEqual(try Tool.ember(["flamegraph", "-i", recording, "-o", svg]).status, 0)
        XCTAssertTrue(try String(contentsOfFile: svg, encoding: .utf8).hasPrefix("<?xml"))
        let stdout = try Tool.ember(["flamegraph", "-i", recording, "-o", "-"])
        XCTAssertEqual(stdout.status, 0, stdout.stderr)
        XCTAssertTrue(stdout.stdout.hasPrefix("<?xml"))
        let pprof = try Tool.ember(["pprof", "-i", recording, "-o", dir + "/p.pb.gz"])
        XCTAssertEqual(pprof.status, 0, pprof.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".") }, [])
    }

    /// Unwritable places are named with what to do.
    func testUnwritablePlacesSayWhy() throws {
        let proc = try Tool.ember(["record", "-o", "/proc/version", "--", "/bin/true"])
        XCTAssertEqual(proc.status, 1)
        XCTAssertTrue(proc.stderr.contains("cannot create /proc/version: the file system does not allow new files there"), proc.stderr)
        let missing = try Tool.ember(["record", "-o", "/no/such/dir/x.data", "--", "/bin/true"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("there is no directory /no/such/dir"), missing.stderr)
    }

    private func recordDemo(_ dir: String) throws -> String {
        try requireRoot()
        let file = dir + "/demo.data"
        let r = try Tool.ember(["record", "-g", "-q", "-o", file, "--", try Tool.demo(), "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return file
    }
}
