import EmberKernel
import EmberPerfData
import EmberSession
import EmberReplay
import EmberUnwind

/// Unwinds every DWARF sample of a recording with both unwinders, Ember's and libunwind's, over the same registers
/// and stack bytes, and compares them frame by frame (`ember unwind-check`): the oracle for Ember's stacks, and the
/// measurement that chose the default unwinder.
public struct UnwindCheck {
    public enum Outcome: Int, CaseIterable {
        case identical, emberStopsEarlier, libunwindStopsEarlier, differ
    }

    /// A sample where the two part: at which depth, and what each has there (nil where one has stopped).
    public struct Difference {
        public var time: UInt64
        public var pid: Int32
        public var depth: Int
        public var ember: UInt64?
        public var libunwind: UInt64?
    }

    public private(set) var samples = 0
    public private(set) var outcomes = [Int](repeating: 0, count: Outcome.allCases.count)
    /// Outcomes other than identical, per binary of the last frame the two share (where they part).
    public private(set) var byBinary: [String: [Int]] = [:]
    /// Seconds spent in each unwinder.
    public private(set) var emberSeconds = 0.0
    public private(set) var libunwindSeconds = 0.0
    /// The first few differences, for a look.
    public private(set) var examples: [Difference] = []
    public static let exampleLimit = 10

    public init(_ replay: Replay) {
        let ember = Unwinder(model: replay.model, symbolizer: replay.symbolizer)
        let libunwind = LibunwindUnwinder(model: replay.model, symbolizer: replay.symbolizer)
        var a: [FrameAddress] = [], b: [FrameAddress] = []
        replay.forEachSample(event: nil) { sample, _ in
            guard sample.unwindsUserStack, !sample.userStack.isEmpty else { return }
            a.removeAll(keepingCapacity: true)
            b.removeAll(keepingCapacity: true)
            let t0 = monotonicSeconds()
            let endA = ember.unwind(sample, into: &a)
            let t1 = monotonicSeconds()
            let endB = libunwind.unwind(sample, into: &b)
            let t2 = monotonicSeconds()
            guard endA != nil || endB != nil else { return }
            emberSeconds += t1 - t0
            libunwindSeconds += t2 - t1
            samples += 1
            record(a.map(\.address), b.map(\.address), sample: sample, model: replay.model)
        }
    }

    private mutating func record(_ a: [UInt64], _ b: [UInt64], sample: Sample, model: ProcessModel) {
        let shared = zip(a, b).prefix { $0 == $1 }.count
        let outcome: Outcome
        if shared == a.count, shared == b.count {
            outcome = .identical
        } else if shared == a.count {
            outcome = .emberStopsEarlier
        } else if shared == b.count {
            outcome = .libunwindStopsEarlier
        } else {
            outcome = .differ
        }
        outcomes[outcome.rawValue] += 1
        guard outcome != .identical else { return }
        let binary = shared > 0 ? model.resolve(pid: sample.pid, address: a[shared - 1]).map { model.dsos[$0.dso].path } : nil
        byBinary[binary ?? "[unknown]", default: [Int](repeating: 0, count: Outcome.allCases.count)][outcome.rawValue] += 1
        if examples.count < UnwindCheck.exampleLimit {
            examples.append(Difference(time: sample.time, pid: sample.pid, depth: shared,
                                       ember: shared < a.count ? a[shared] : nil, libunwind: shared < b.count ? b[shared] : nil))
        }
    }
}
