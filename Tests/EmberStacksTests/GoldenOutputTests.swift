import EmberKernel
import EmberPerfData
import EmberRender
import EmberReplay
import EmberStacks
import EmberSymbols
import Foundation
import XCTest

/// `script`, `collapse` and `report` text of a fixed recording, compared with golden files. The recording is
/// written by the test: a process whose code is "JIT" memory described by a perf map, so that the names are
/// real and the same on every machine.
final class GoldenOutputTests: XCTestCase {
    private static let pid: Int32 = 3_999_999
    private static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    private func recording() throws -> String {
        let mapPath = "/tmp/perf-\(Self.pid).map"
        try """
            7000000 100 main
            7000100 100 parse_config
            7000200 100 read_file
            7000300 100 render_page
            7000400 100 layout
            """.write(toFile: mapPath, atomically: true, encoding: .utf8)
        let path = RecordingFixture.temporaryPath()
        let attr = RecordingFixture.attr()
        let writer = try PerfDataWriter(path: path)
        try writer.begin(events: [.init(attr: attr, ids: [1], name: "cpu-clock")])
        let enc = RecordEncoder(attr: attr, id: 1)
        try writer.append(enc.comm(pid: Self.pid, tid: Self.pid, name: "webserver"))
        try writer.append(enc.mmap2(MmapRecord(pid: Self.pid, tid: Self.pid, start: 0x700_0000, length: 0x1000, pageOffset: 0,
                                               protection: 5, flags: 2, device: nil, inode: 0, filename: "//anon")))
        let stacks: [([UInt64], Int)] = [
            ([0x700_0210, 0x700_0120, 0x700_0010], 5),   // main → parse_config → read_file
            ([0x700_0130, 0x700_0010], 2),                // main → parse_config
            ([0x700_0420, 0x700_0320, 0x700_0020], 8),    // main → render_page → layout
            ([0x700_0330, 0x700_0020], 4),                // main → render_page
            ([0x0000_1234], 1),                           // nothing mapped there
        ]
        var time: UInt64 = 1_000_000_000
        for (chain, count) in stacks {
            for _ in 0..<count {
                time += 1_000_000
                try writer.append(RecordingFixture.sample(id: 1, pid: Self.pid, time: time,
                                                          chain: [CallchainContext.user] + chain, period: 1_000_000))
            }
        }
        try writer.appendFinishedRound()
        try writer.finish(features: [(.eventDesc, writer.eventDescription())])
        return path
    }

    private func assertGolden(_ text: String, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let url = Self.fixtures.appendingPathComponent(name)
        guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
            try text.write(to: url, atomically: true, encoding: .utf8)
            return XCTFail("wrote the missing golden file \(name); check it and commit it", file: file, line: line)
        }
        if text != expected {
            let a = text.split(separator: "\n", omittingEmptySubsequences: false)
            let b = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let first = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
            XCTFail("\(name) differs first at line \(first + 1):\n got: \(first < a.count ? a[first] : "<end>")\nwant: \(first < b.count ? b[first] : "<end>")", file: file, line: line)
        }
    }

    private func script(_ path: String) throws -> String {
        let pipe = Pipe()
        let out = TextOutput(fd: pipe.fileHandleForWriting.fileDescriptor)
        ScriptWriter().write(try Replay(path: path), to: out)
        out.flush()
        try pipe.fileHandleForWriting.close()
        return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    func testGoldenOutputs() throws {
        let path = try recording()
        defer { unlink(path); unlink("/tmp/perf-\(Self.pid).map") }
        try assertGolden(try script(path), "script.txt")
        try assertGolden(try Collapser().collapse(try Replay(path: path)).text, "collapse.txt")

        var options = ReportOptions()
        options.callGraph = .caller
        try assertGolden(ReportWriter().render(try ReportModel(try Replay(path: path), options: options)), "report-children-caller.txt")
        options.children = false
        options.callGraph = .callee
        options.keys = [.symbol]
        try assertGolden(ReportWriter().render(try ReportModel(try Replay(path: path), options: options)), "report-self-callee.txt")
    }
}
