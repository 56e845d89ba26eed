import EmberPerfData
import EmberSession
import EmberSymbols

/// Folds a recording's samples into stacks with stackcollapse-perf.pl's conventions: the process name first
/// (spaces as `_`), then outermost to leaf; symbol offsets dropped; an unresolved frame named after its binary
/// (`[libc.so.6]`) or `[unknown]`; inlined functions as frames of their own marked `_[i]`; weight the sample
/// period (or 1 with `count`). Swift names keep their argument labels (`sortMany(_:)`), which is their short form.
public struct Collapser {
    public enum Root: Sendable { case comm, pid, tid }

    public var root: Root = .comm
    public var countSamples = false
    /// The event to fold; nil folds the first event.
    public var eventName: String?
    /// Each sample's weight instead of its period; nil leaves the sample out (off-CPU stacks weigh by the time
    /// their thread then spent blocked).
    public var weight: ((Sample) -> UInt64?)?

    public init() {}

    public func collapse(_ replay: Replay) throws -> FoldedProfile {
        guard let event = replay.eventIndex(named: eventName) else {
            throw CollapseError.noSuchEvent(eventName ?? "", available: replay.file.events.map(\.name))
        }
        var tree = CallTree()
        var frames: [ResolvedFrame] = []
        var roots: [Int32: (comm: String, id: Int32)] = [:]
        let resolver = replay.resolver
        let model = replay.model
        let table = replay.frames
        replay.forEachSample(event: event) { sample, _ in
            let weight = self.weight.map { $0(sample) } ?? (countSamples ? 1 : sample.period)
            guard let weight else { return }
            resolver.frames(of: sample, into: &frames, symbolize: false)
            let comm = model.comm(tid: sample.tid)
            let rootID: Int32
            if let root = roots[sample.tid], root.comm == comm {
                rootID = root.id
            } else {
                rootID = table.intern(folded: rootName(comm, sample), kind: nil)
                roots[sample.tid] = (comm, rootID)
            }
            var node = tree.child(of: 0, frame: rootID)
            for frame in frames.reversed() {
                table.forEachInfo(of: frame, pid: sample.pid) { id in
                    let folded = table.foldedOf[Int(id)]
                    if folded >= 0 { node = tree.child(of: node, frame: folded) }
                }
            }
            tree.addWeight(weight, to: node)
        }
        return tree.folded(names: table.foldedNames, kinds: table.foldedKinds)
    }

    private func rootName(_ rawComm: String, _ sample: Sample) -> String {
        let comm = String(rawComm.map { $0 == " " ? "_" : $0 })
        switch root {
        case .comm: return comm
        case .pid: return "\(comm)-\(sample.pid)"
        case .tid: return "\(comm)-\(sample.pid)/\(sample.tid)"
        }
    }

    /// stackcollapse-perf.pl's generic tidying: `;` would split the frame, so it becomes `:`; an argument list is
    /// noise, so everything from the first `(` goes (but not `(anonymous namespace)`, nor in Go's `pkg.(*T).M`);
    /// quotes go.
    public static func tidy(_ name: String) -> String {
        var utf8 = Array(name.utf8)
        if utf8.contains(UInt8(ascii: ";")) {
            utf8 = utf8.map { $0 == UInt8(ascii: ";") ? UInt8(ascii: ":") : $0 }
        }
        if utf8.contains(UInt8(ascii: "(")), !isGoMethod(utf8) {
            let keep = "(anonymous namespace)".utf8
            if let cut = utf8.indices.first(where: { utf8[$0] == UInt8(ascii: "(") && !utf8[$0...].starts(with: keep) }) {
                utf8.removeSubrange(cut...)
            }
        }
        utf8.removeAll { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "'") }
        return String(decoding: utf8, as: UTF8.self)
    }

    /// `\.\(.*\)\.`: a Go method such as `net/http.(*Client).Do`.
    private static func isGoMethod(_ s: [UInt8]) -> Bool {
        guard let open = s.indices.first(where: { $0 > 0 && s[$0] == UInt8(ascii: "(") && s[$0 - 1] == UInt8(ascii: ".") }) else { return false }
        var i = s.count - 1
        while i > open {
            if s[i] == UInt8(ascii: ".") && s[i - 1] == UInt8(ascii: ")") { return true }
            i -= 1
        }
        return false
    }
}

public enum CollapseError: Error, CustomStringConvertible {
    case noSuchEvent(String, available: [String])

    public var description: String {
        switch self {
        case .noSuchEvent(let name, let available):
            return "the recording has no event '\(name)'; it has: \(available.joined(separator: ", "))"
        }
    }
}
