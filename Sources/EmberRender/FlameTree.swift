import EmberKernel
import EmberReplay
import EmberStacks

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The merged call tree of a folded profile, stored flat in pre-order (every subtree is a contiguous run
/// of indices; index 0 is the synthetic root).
///
/// Children are merged by name and ordered bytewise by name (so "alphabetically", as flamegraph.pl's sorted
/// input gives). Each node's `offset` is where it starts, in weight units, from the left edge of the graph:
/// children are packed from their parent's left edge, so a parent's self weight shows as a gap on the right.
///
/// Building is O(total frames) plus sorting the distinct stacks by their bytes: no per-frame hashing.
struct FlameTree {
    /// Frame names; `names[0]` is the root's.
    private(set) var names: [String] = []
    /// Inclusive weight of each node.
    private(set) var weights: [UInt64] = []
    /// Depth of each node; the root is 0, a stack's first frame is 1.
    private(set) var depths: [Int32] = []
    /// Start of each node in weight units from the left edge.
    private(set) var offsets: [UInt64] = []
    /// Differential profiles only: each node's inclusive weight before the change.
    private(set) var before: [UInt64] = []
    var isDifferential: Bool { !before.isEmpty }

    /// How much a node's inclusive weight grew (negative: shrank).
    func change(_ node: Int) -> Int64 { Int64(clamping: weights[node]) &- Int64(clamping: before[node]) }

    /// Each node's weight of its own (`inclusive` less its children's), from a pre-order walk.
    func selfWeights(_ inclusive: [UInt64]) -> [UInt64] {
        var own = inclusive
        var parents: [Int] = []
        for node in 0..<count {
            while let last = parents.last, depths[last] >= depths[node] { parents.removeLast() }
            if let parent = parents.last { own[parent] = own[parent] &- inclusive[node] }
            parents.append(node)
        }
        return own
    }

    /// Each node's weight in stacks that end in a frame named `leaf` (a wall-clock profile's `[off-cpu]`); empty
    /// when no stack does.
    func weights(endingIn leaf: String) -> [UInt64] {
        guard names.contains(leaf) else { return [] }
        var under = [UInt64](repeating: 0, count: count)
        var parents: [Int] = []
        for node in 0..<count {
            while let last = parents.last, depths[last] >= depths[node] { parents.removeLast() }
            if names[node] == leaf {
                under[node] = weights[node]
                for parent in parents { under[parent] &+= weights[node] }
            }
            parents.append(node)
        }
        return under
    }

    var count: Int { names.count }
    /// The root's weight: the sum of all stack weights.
    var total: UInt64 { weights.isEmpty ? 0 : weights[0] }

    init(_ profile: FoldedProfile, rootName: String = "all") {
        names = [rootName]
        weights = [0]
        depths = [0]
        if profile.baseline != nil { before = [0] }
        let baseline = profile.baseline ?? [:]
        build(profile.weights.map { ($0.key, $0.value, baseline[$0.key] ?? 0) })
        layOut()
    }

    /// One distinct stack: a run of `bytes` and its weight.
    private struct Span {
        var start: Int
        var count: Int
        var weight: UInt64
        var before: UInt64
    }

    /// Sorts the stacks first, so that all stacks through a frame meet in one node.
    private mutating func build(_ stacks: [(stack: String, weight: UInt64, before: UInt64)]) {
        var byteCount = 0
        for s in stacks { byteCount += s.stack.utf8.count }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(byteCount)
        var spans: [Span] = []
        spans.reserveCapacity(stacks.count)
        // A stack gone after a change has no width, but its weight before still counts in its callers'.
        for (stack, weight, before) in stacks where weight > 0 || before > 0 {
            let start = bytes.count
            bytes.append(contentsOf: stack.utf8)
            spans.append(Span(start: start, count: bytes.count - start, weight: weight, before: before))
        }
        guard !spans.isEmpty else { return }

        // Sorting stacks frame by frame (a frame that is a prefix of another sorts first) is the same as sorting
        // their bytes with the separator ranked below every other byte. Swift strings never hold NUL in
        // symbol names, so normally ';' becomes 0 and memcmp does the work; otherwise fall back to a loop.
        let hasNUL = bytes.contains(0)
        if !hasNUL {
            for i in bytes.indices where bytes[i] == 0x3B { bytes[i] = 0 }
        }
        let separator: UInt8 = hasNUL ? 0x3B : 0

        bytes.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress!
            if hasNUL {
                spans.sort { a, b in Self.framewisePrecedes(base + a.start, a.count, base + b.start, b.count) }
            } else {
                spans.sort { a, b in
                    let common = min(a.count, b.count)
                    let order = common == 0 ? 0 : memcmp(base + a.start, base + b.start, common)
                    return order != 0 ? order < 0 : a.count < b.count
                }
            }
            insert(spans, from: buffer, separator: separator)
        }
    }

    /// Compares two stacks frame by frame with ';' as the separator (the slow path for names holding NUL).
    private static func framewisePrecedes(_ a: UnsafePointer<UInt8>, _ aCount: Int,
                                          _ b: UnsafePointer<UInt8>, _ bCount: Int) -> Bool {
        let common = min(aCount, bCount)
        var i = 0
        while i < common {
            let x = a[i], y = b[i]
            if x != y {
                if x == 0x3B { return true }
                if y == 0x3B { return false }
                return x < y
            }
            i += 1
        }
        return aCount < bCount
    }

    /// Walks the sorted stacks, reusing the nodes of the prefix shared with the previous stack (all stacks
    /// through a given node are adjacent once sorted) and appending new nodes for the rest, in pre-order.
    private mutating func insert(_ spans: [Span], from buffer: UnsafeBufferPointer<UInt8>, separator: UInt8) {
        let base = buffer.baseAddress!
        var path: [Int] = [0]  // path[d] is the node at depth d of the previous stack
        var previous: [(start: Int, count: Int)] = []
        var current: [(start: Int, count: Int)] = []
        for span in spans {
            current.removeAll(keepingCapacity: true)
            if span.count > 0 {
                var frameStart = span.start
                let end = span.start + span.count
                for i in span.start..<end where buffer[i] == separator {
                    current.append((frameStart, i - frameStart))
                    frameStart = i + 1
                }
                current.append((frameStart, end - frameStart))
            }

            var shared = 0
            let limit = min(current.count, previous.count)
            while shared < limit {
                let a = current[shared], b = previous[shared]
                guard a.count == b.count, a.count == 0 || memcmp(base + a.start, base + b.start, a.count) == 0
                else { break }
                shared += 1
            }

            path.removeSubrange((shared + 1)...)
            for node in path { weights[node] = weights[node].saturatingAdd(span.weight) }
            if isDifferential { for node in path { before[node] = before[node].saturatingAdd(span.before) } }
            for depth in shared..<current.count {
                let frame = current[depth]
                let name = String(decoding: UnsafeBufferPointer(start: base + frame.start, count: frame.count),
                                  as: UTF8.self)
                path.append(names.count)
                names.append(name)
                weights.append(span.weight)
                depths.append(Int32(depth + 1))
                if isDifferential { before.append(span.before) }
            }
            swap(&previous, &current)
        }
    }

    /// Computes `offsets`: in pre-order, a node starts where its parent's earlier children ended.
    private mutating func layOut() {
        offsets = [UInt64](repeating: 0, count: names.count)
        var cursor: [UInt64] = [0]  // cursor[d]: where the next child of the current depth-d node starts
        for i in 1..<max(names.count, 1) {
            let depth = Int(depths[i])
            let start = cursor[depth - 1]
            offsets[i] = start
            cursor[depth - 1] = start &+ weights[i]
            if depth < cursor.count {
                cursor[depth] = start
            } else {
                cursor.append(start)
            }
        }
    }
}
