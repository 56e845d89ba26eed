@testable import EmberKernel
@testable import EmberRecord
import Foundation
import XCTest

/// perf's fallbacks when an event cannot be opened, with the kernel's refusals stood in for (this machine has no
/// hardware PMU to refuse, and root is never refused kernel samples); what does open is a real event on this
/// process, user space only, so that no privilege is needed.
final class EventGroupTests: XCTestCase {
    private func group(_ spec: EventSpec, refusing refuse: @escaping (EventAttr, Int32) -> Errno?) -> EventGroup {
        var attr = EventAttr(type: spec.type, config: spec.config)
        attr.flags.insert(.disabled)
        let group = EventGroup(event: ResolvedEvent(name: spec.name, attr: attr, spec: spec))
        group.privileged = false
        group.openEvent = { attr, pid, cpu, probe in
            if let errno = refuse(attr, pid) { throw PerfEventOpenError(errno: errno, attr: attr, pid: pid, cpu: cpu) }
            var user = attr
            user.flags.formUnion([.excludeKernel, .excludeHypervisor])
            return try PerfEvent(attr: user, pid: getpid(), cpu: -1, probeString: probe)
        }
        return group
    }

    func testMissingHardwareEventFallsBackToCPUClock() throws {
        let g = group(.cycles) { attr, _ in attr.type == .hardware ? .noEntry : nil }
        try g.open(targets: [(getpid(), -1)], describe: "profile this test")
        XCTAssertEqual(g.name, "cpu-clock")
        XCTAssertEqual(g.attr.type, .software)
        XCTAssertEqual(g.events.count, 1)
        XCTAssertEqual(g.notes, ["cycles is not supported here (no hardware PMU); falling back to cpu-clock"])
    }

    func testCountingSaysNotSupportedInsteadOfFallingBack() {
        let g = group(.cycles) { attr, _ in attr.type == .hardware ? .notSupported : nil }
        g.fallsBackToCPUClock = false
        XCTAssertThrowsError(try g.open(targets: [(getpid(), -1)], describe: "count")) { error in
            guard case RecordError.eventNotSupported(let name, let errno)? = error as? RecordError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "cycles")
            XCTAssertEqual(errno, .notSupported)
        }
    }

    func testParanoidKernelGetsUserSpaceOnly() throws {
        let g = group(.cpuClock) { attr, _ in attr.flags.contains(.excludeKernel) ? nil : .permissionDenied }
        try g.open(targets: [(getpid(), -1)], describe: "profile this test")
        XCTAssertTrue(g.attr.flags.contains(.excludeKernel))
        XCTAssertEqual(g.notes.count, 1)
        XCTAssertTrue(g.notes[0].hasPrefix("kernel.perf_event_paranoid is "), g.notes[0])
    }

    func testRootRefusedSaysWhy() {
        let g = group(.cpuClock) { _, _ in .notPermitted }
        g.privileged = true
        XCTAssertThrowsError(try g.open(targets: [(getpid(), -1)], describe: "profile process 1")) { error in
            guard case RecordError.permission(let what, _)? = error as? RecordError else { return XCTFail("\(error)") }
            XCTAssertEqual(what, "profile process 1")
        }
    }

    func testThreadThatExitedIsSkipped() throws {
        let g = group(.cpuClock) { _, pid in pid == 424242 ? .noSuchProcess : nil }
        try g.open(targets: [(424242, -1), (getpid(), -1)], describe: "profile process")
        XCTAssertEqual(g.events.count, 1)
        let alone = group(.cpuClock) { _, _ in .noSuchProcess }
        XCTAssertThrowsError(try alone.open(targets: [(424242, -1)], describe: "profile process 424242")) { error in
            guard case RecordError.noSuchProcess(let pid)? = error as? RecordError else { return XCTFail("\(error)") }
            XCTAssertEqual(pid, 424242)
        }
    }
}
