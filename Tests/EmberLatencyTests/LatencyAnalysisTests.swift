import EmberKernel
import EmberLatency
import EmberPerfData
import EmberReplay
import EmberStacks
import Foundation
import XCTest

/// The latency analysis on recordings written here, without a kernel: waits and calls paired per thread from
/// scheduler tracepoints and probe events, with the times chosen so that every duration is known.
final class LatencyAnalysisTests: XCTestCase {
    /// sched_switch and sched_wakeup as Linux 6.x lays them out.
    static let switchFormat = """
        name: sched_switch
        ID: 316
        format:
        \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
        \tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
        \tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
        \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

        \tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;
        \tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;
        \tfield:int prev_prio;\toffset:28;\tsize:4;\tsigned:1;
        \tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;
        \tfield:char next_comm[16];\toffset:40;\tsize:16;\tsigned:0;
        \tfield:pid_t next_pid;\toffset:56;\tsize:4;\tsigned:1;
        \tfield:int next_prio;\toffset:60;\tsize:4;\tsigned:1;

        print fmt: "prev_pid=%d next_pid=%d", REC->prev_pid, REC->next_pid
        """
    static let wakeupFormat = """
        name: sched_wakeup
        ID: 317
        format:
        \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
        \tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
        \tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
        \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

        \tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;
        \tfield:pid_t pid;\toffset:24;\tsize:4;\tsigned:1;
        \tfield:int prio;\toffset:28;\tsize:4;\tsigned:1;
        \tfield:int target_cpu;\toffset:32;\tsize:4;\tsigned:1;

        print fmt: "pid=%d", REC->pid
        """

    /// What a recording holds, in time order.
    enum Event {
        /// `tid` leaves the CPU for `next` (state 0: preempted, runnable; 1: sleeping).
        case switchOut(time: UInt64, tid: Int32, state: Int64, next: Int32)
        /// `waker` wakes `tid`.
        case wakeup(time: UInt64, waker: Int32, tid: Int32)
        /// A probe hit of `tid`: the function's entry or its return.
        case entry(time: UInt64, tid: Int32)
        case exit(time: UInt64, tid: Int32)
        /// A followed task's context switch (PERF_RECORD_SWITCH): out (`preempted`: still runnable) or back in.
        case switched(time: UInt64, tid: Int32, out: Bool, preempted: Bool)
    }

    private func sample(id: UInt64, tid: Int32, time: UInt64, raw: [UInt8]) -> [UInt8] {
        var w = ByteWriter()
        w.u32(RecordType.sample.rawValue); w.u16(CPUMode.kernel.rawValue); w.u16(0)
        w.u64(id); w.u64(0xffff_ffff_8100_0000); w.i32(tid); w.i32(tid); w.u64(time); w.u32(0); w.u32(0); w.u64(1)
        // PERF_SAMPLE_RAW: a u32 size, then the payload, padded so that the record stays 8-byte aligned.
        let padded = (raw.count + 4 + 7) / 8 * 8 - 4
        w.u32(UInt32(padded))
        for b in raw { w.u8(b) }
        for _ in raw.count..<padded { w.u8(0) }
        w.patchU16(at: 6, UInt16(w.count))
        return w.bytes
    }

    private func payload(_ size: Int, type: UInt16, _ fields: [(offset: Int, value: Int64, bytes: Int)]) -> [UInt8] {
        var raw = [UInt8](repeating: 0, count: size)
        withUnsafeBytes(of: type.littleEndian) { raw.replaceSubrange(0..<2, with: $0) }
        for f in fields {
            withUnsafeBytes(of: f.value.littleEndian) { raw.replaceSubrange(f.offset..<(f.offset + f.bytes), with: $0.prefix(f.bytes)) }
        }
        return raw
    }

    /// Writes `events` as a recording of sched_switch (id 1), sched_wakeup (id 2) and a uprobe/uretprobe pair
    /// (ids 3 and 4) of `app:work`, and reads it.
    /// `corrupt`: a time whose top byte is then damaged in the file. `followsTasks`: the first event is a dummy that
    /// asks for context switch records, as in a recording of a command's tasks without sched_switch.
    private func replay(_ events: [Event], corrupt: UInt64? = nil, followsTasks: Bool = false) throws -> Replay {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ember-latency-\(UUID().uuidString).data").path
        addTeardownBlock { unlink(path) }
        var tracepoint = EventAttr(type: .tracepoint, config: 316)
        tracepoint.sampleType = [.identifier, .ip, .tid, .time, .cpu, .period, .raw]
        tracepoint.flags = [.sampleIDAll]
        var wakeup = tracepoint
        wakeup.config = 317
        var probe = tracepoint
        probe.type = EventType(rawValue: 8)
        probe.config = 0
        let writer = try PerfDataWriter(path: path)
        let tracing = TracingData.encode(headerPage: "", headerEvent: "",
                                         systems: [.init(name: "sched", formats: [Self.switchFormat, Self.wakeupFormat])], pageSize: 4096)
        var dummy = tracepoint
        dummy.type = .software
        dummy.config = EventSpec.dummy.config
        dummy.flags.insert(.contextSwitch)
        try writer.begin(events: [followsTasks ? .init(attr: dummy, ids: [1], name: "dummy") : .init(attr: tracepoint, ids: [1], name: "sched:sched_switch"),
                                  .init(attr: wakeup, ids: [2], name: "sched:sched_wakeup"),
                                  .init(attr: probe, ids: [3], name: "uprobe:app:work"),
                                  .init(attr: probe, ids: [4], name: "uretprobe:app:work")],
                         features: [(.tracingData, tracing)])
        for event in events {
            switch event {
            case .switchOut(let time, let tid, let state, let next):
                try writer.append(sample(id: 1, tid: tid, time: time, raw: payload(64, type: 316, [(24, Int64(tid), 4), (32, state, 8), (56, Int64(next), 4)])))
            case .wakeup(let time, let waker, let tid):
                try writer.append(sample(id: 2, tid: waker, time: time, raw: payload(40, type: 317, [(24, Int64(tid), 4)])))
            case .entry(let time, let tid):
                try writer.append(sample(id: 3, tid: tid, time: time, raw: payload(8, type: 0, [])))
            case .exit(let time, let tid):
                try writer.append(sample(id: 4, tid: tid, time: time, raw: payload(8, type: 0, [])))
            case .switched(let time, let tid, let out, let preempted):
                // The sample_id trailer of the first event: {pid, tid}, time, {cpu, res}, identifier.
                var w = ByteWriter()
                w.u32(RecordType.switchTask.rawValue)
                w.u16((out ? RecordMisc.switchOut : 0) | (preempted ? RecordMisc.switchOutPreempt : 0)); w.u16(40)
                w.i32(tid); w.i32(tid); w.u64(time); w.u32(0); w.u32(0); w.u64(1)
                try writer.append(w.bytes)
            }
        }
        try writer.appendFinishedRound()
        try writer.finish(features: [(.eventDesc, writer.eventDescription())])
        if let corrupt {
            // One byte of one sample's time damaged after the file was written (its HEADER_SAMPLE_TIME still true).
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            let pattern = withUnsafeBytes(of: corrupt.littleEndian, Array.init)
            let at = try XCTUnwrap((0...(bytes.count - 8)).first { bytes[$0..<($0 + 8)].elementsEqual(pattern) })
            bytes[at + 7] = 0x70
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }
        return try Replay(path: path)
    }

    /// A thread that sleeps 5 µs and then waits 1 µs for its CPU: off-CPU from its switch-out to its switch-in,
    /// run-queue delay from its wakeup to its switch-in; a preempted thread waits in the run queue from its
    /// switch-out.
    func testSleepAndRunQueue() throws {
        let replay = try replay([
            .switchOut(time: 1_000, tid: 7, state: 1, next: 0),
            .wakeup(time: 5_000, waker: 9, tid: 7),
            .switchOut(time: 6_000, tid: 9, state: 0, next: 7),
            .switchOut(time: 6_500, tid: 7, state: 0, next: 9),
        ])
        var analysis = LatencyAnalysis(kinds: [.sched, .offcpu])
        analysis.collectsBlocks = true
        try analysis.read(replay)
        let seven = try XCTUnwrap(analysis.threads[7])
        let offKey = try XCTUnwrap(seven.keys.first { $0.kind == .offcpu })
        let runKey = try XCTUnwrap(seven.keys.first { $0.kind == .sched })
        XCTAssertEqual(seven[offKey]?.count, 1)
        XCTAssertEqual(seven[offKey]?.totalNs, 5_000)
        XCTAssertEqual(seven[runKey]?.count, 1)
        XCTAssertEqual(seven[runKey]?.totalNs, 1_000)
        // Thread 9, preempted at 6 µs and back at 6.5 µs: 500 ns in the run queue, never off the CPU asleep.
        let nine = try XCTUnwrap(analysis.threads[9])
        XCTAssertEqual(nine.first { $0.key.kind == .sched }?.value.totalNs, 500)
        XCTAssertNil(nine.first { $0.key.kind == .offcpu && $0.value.count > 0 })
        // The off-CPU weight sits on the sample that began the wait, and its waker is the wakeup's sample.
        let offCPU = try OffCPUTime(try self.replay([
            .switchOut(time: 1_000, tid: 7, state: 1, next: 0),
            .wakeup(time: 5_000, waker: 9, tid: 7),
            .switchOut(time: 6_000, tid: 9, state: 0, next: 7),
        ]))
        XCTAssertEqual(offCPU.waits[SampleKey(tid: 7, time: 1_000)]?.ns, 5_000)
        XCTAssertEqual(offCPU.wakers[SampleKey(tid: 7, time: 1_000)], SampleKey(tid: 9, time: 5_000))
    }

    /// A recording of a command's tasks (their context switches, no sched_switch; wakeups from every CPU): off-CPU
    /// time from a blocking switch-out to the switch-in, run-queue delay from a wakeup or a preempting switch-out
    /// to the switch-in; a wakeup of a thread the recording does not follow makes no row, and no missed switch-in.
    func testContextSwitchesOfFollowedTasks() throws {
        let replay = try replay([
            .switched(time: 1_000, tid: 7, out: true, preempted: false),
            .wakeup(time: 5_000, waker: 9, tid: 7),
            .wakeup(time: 5_200, waker: 9, tid: 12),
            .switched(time: 6_000, tid: 7, out: false, preempted: false),
            .switched(time: 7_000, tid: 7, out: true, preempted: true),
            .wakeup(time: 7_100, waker: 12, tid: 9),
            .switched(time: 7_400, tid: 7, out: false, preempted: false),
        ], followsTasks: true)
        XCTAssertTrue(LatencyAnalysis.kinds(recordedIn: replay.events).isSuperset(of: [.sched, .offcpu]))
        var analysis = LatencyAnalysis(kinds: [.sched, .offcpu])
        try analysis.read(replay)
        let seven = try XCTUnwrap(analysis.threads[7])
        XCTAssertEqual(seven.first { $0.key.kind == .offcpu }?.value.totalNs, 5_000)
        let queued = try XCTUnwrap(seven.first { $0.key.kind == .sched }?.value)
        XCTAssertEqual(queued.count, 2)
        XCTAssertEqual(queued.totalNs, 1_000 + 400)
        XCTAssertNil(analysis.threads[12])
        XCTAssertNil(analysis.threads[9])
        XCTAssertEqual(analysis.missedSwitchIns, 0)
    }

    /// Function calls from entry to return per thread, nested calls through a stack; a return without its entry
    /// and an entry without its return are unfinished, never durations.
    func testFunctionCallsNestAndUnfinishedAreCounted() throws {
        let replay = try replay([
            .exit(time: 50, tid: 3),
            .entry(time: 100, tid: 3),
            .entry(time: 200, tid: 3),
            .exit(time: 250, tid: 3),
            .entry(time: 260, tid: 4),
            .exit(time: 400, tid: 3),
            .exit(time: 300, tid: 4),
            .entry(time: 500, tid: 3),
        ])
        var analysis = LatencyAnalysis(kinds: [.function])
        try analysis.read(replay)
        let three = try XCTUnwrap(analysis.threads[3]?.first { $0.key.kind == .function }?.value)
        XCTAssertEqual(three.count, 2)
        XCTAssertEqual(three.totalNs, 50 + 300)
        XCTAssertEqual(three.maxNs, 300)
        XCTAssertGreaterThanOrEqual(three.unfinished, 1)
        XCTAssertEqual(analysis.threads[4]?.first { $0.key.kind == .function }?.value.totalNs, 40)
    }

    /// A sample whose time a corrupt byte moved centuries on lies outside the recording's span: counted, and the
    /// wait it would have ended is not measured.
    func testTimeOutsideTheSpanIsNotMeasured() throws {
        let replay = try replay([
            .switchOut(time: 1_000, tid: 7, state: 1, next: 0),
            .switchOut(time: 2_000, tid: 9, state: 1, next: 0),
            .switchOut(time: 3_000, tid: 8, state: 0, next: 9),
            .switchOut(time: 0x0123_4567, tid: 5, state: 0, next: 7),
        ], corrupt: 0x0123_4567)
        var analysis = LatencyAnalysis(kinds: [.offcpu])
        try analysis.read(replay)
        XCTAssertEqual(analysis.timesOutsideSpan, 1)
        XCTAssertNil(analysis.threads[7]?.first { $0.key.kind == .offcpu && $0.value.count > 0 })
        XCTAssertEqual(analysis.threads[9]?.first { $0.key.kind == .offcpu }?.value.totalNs, 1_000)
    }

    /// Kinds the recording has no events for are refused by name.
    func testMissingKindIsRefused() throws {
        let replay = try replay([.entry(time: 1, tid: 1)])
        var analysis = LatencyAnalysis(kinds: [.syscall])
        XCTAssertThrowsError(try analysis.read(replay)) { error in
            XCTAssertTrue("\(error)".contains("raw_syscalls") || "\(error)".contains("syscall"), "\(error)")
        }
    }
}

/// Corrupt times are counted, never measured, and no duration can overflow the report's buckets.
final class CorruptTimeTests: XCTestCase {
    func testBucketsOfTheLongestWaits() {
        var stats = LatencyStats()
        stats.record(UInt64.max / 2)
        stats.record(UInt64.max)
        stats.record(5_000)
        let buckets = stats.log2Buckets
        XCTAssertEqual(buckets.reduce(0) { $0 + $1.count }, 3)
        XCTAssertEqual(buckets.last?.highNs, UInt64.max)
    }
}
