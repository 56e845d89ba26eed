import EmberKernel
import EmberReplay
import EmberSession

/// A call tree keyed by interned frame names (`FrameTable.foldedNames`): one hash lookup per frame of a sample,
/// whatever the stack depth, and memory that grows with distinct stacks rather than samples.
struct CallTree {
    /// `(parent << 32 | frame)` to child node.
    private var children = IntegerMap(capacity: 4096)
    /// Per node: parent, frame, weight of samples ending here.
    private var parent: [Int32] = [-1]
    private var frame: [Int32] = [-1]
    private var selfWeight: [UInt64] = [0]

    @inline(__always)
    mutating func child(of node: Int32, frame f: Int32) -> Int32 {
        let key = UInt64(UInt32(bitPattern: node)) << 32 | UInt64(UInt32(bitPattern: f))
        if let c = children[key] { return c }
        let c = Int32(parent.count)
        parent.append(node)
        frame.append(f)
        selfWeight.append(0)
        children.insert(c, for: key)
        return c
    }

    @inline(__always)
    mutating func addWeight(_ w: UInt64, to node: Int32) { selfWeight[Int(node)] = selfWeight[Int(node)].saturatingAdd(w) }

    /// One folded line per node that samples ended in.
    func folded(names: [String], kinds: [FrameKind?]) -> FoldedProfile {
        var profile = FoldedProfile()
        for node in 1..<parent.count where selfWeight[node] > 0 {
            profile.add(stack: stack(of: Int32(node), names: names), weight: selfWeight[node])
        }
        for (i, kind) in kinds.enumerated() { if let kind { profile.setKind(kind, of: names[i]) } }
        return profile
    }

    /// The folded text of the path from the root to `node`.
    func stack(of node: Int32, names: [String]) -> String {
        var path: [Int32] = []
        var n = node
        while n > 0 { path.append(frame[Int(n)]); n = parent[Int(n)] }
        return path.reversed().map { names[Int($0)] }.joined(separator: ";")
    }
}
