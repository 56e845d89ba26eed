import EmberReplay
import EmberStacks

/// The colour scheme of a flame graph's frames.
///
/// Every colour is derived from a stable hash of the frame name (FNV-1a, never Swift's per-process seeded
/// `Hasher`), so the same function gets the same colour in every graph and every run.
public enum FlameGraphPalette: String, CaseIterable, Sendable {
    /// Warm reds, oranges and yellows, like flamegraph.pl's default.
    case hot
    /// By `FrameKind`: kernel orange, application red, library yellow-green, unknown grey.
    /// Frames whose kind the profile does not record fall back to `hot` (names ending in `_[k]` count as kernel).
    case kind
    /// Greens and teals, for memory profiles.
    case mem
    /// Blue-greys, for I/O profiles.
    case io
    /// Blues.
    case blue
    /// Greens.
    case green
}

extension FlameGraphPalette {
    /// The fill of a frame, as `rgb(r,g,b)`.
    func fill(for name: String, kind: FrameKind?) -> String {
        let (r, g, b) = rgb(for: name, kind: kind)
        return "rgb(" + String(r) + "," + String(g) + "," + String(b) + ")"
    }

    /// The colour components of a frame, each in 0...255.
    func rgb(for name: String, kind: FrameKind?) -> (Int, Int, Int) {
        let hash = Self.mix(Self.fnv1a(name))
        // Three independent fractions in [0, 1] from disjoint 16-bit slices of the hash.
        let v1 = Double(hash & 0xFFFF) / 65535
        let v2 = Double((hash >> 16) & 0xFFFF) / 65535
        let v3 = Double((hash >> 32) & 0xFFFF) / 65535
        return rgb(v1, v2, v3, kind: kind, name: name)
    }

    /// A frame's kind from its name alone, for folded stacks that do not say (flamegraph.pl's input):
    /// stackcollapse-perf.pl's `_[k]` marks the kernel (`_[j]` JIT code, `_[i]` inlined frames, the program's);
    /// `[unknown]` is unknown; a binary's name in brackets (`[libc.so.6]`, a frame without a symbol) or a `.so`
    /// in the name is a library; the rest, the program.
    static func kind(ofFoldedName name: String) -> FrameKind {
        if name.hasSuffix("_[k]") { return .kernel }
        if name == "[unknown]" { return .unknown }
        if name.hasPrefix("["), name.hasSuffix("]") { return name.contains(".so") ? .library : .unknown }
        return name.contains(".so.") || name.hasSuffix(".so") ? .library : .application
    }

    /// The middle of a kind's colour range, for the legend of `--colors kind`.
    static func legendFill(_ kind: FrameKind) -> String {
        let (r, g, b) = FlameGraphPalette.kind.rgb(0.5, 0.5, 0.5, kind: kind, name: "")
        return "rgb(" + String(r) + "," + String(g) + "," + String(b) + ")"
    }

    private func rgb(_ v1: Double, _ v2: Double, _ v3: Double, kind: FrameKind?, name: String) -> (Int, Int, Int) {
        func c(_ base: Int, _ range: Int, _ v: Double) -> Int { base + Int(Double(range) * v) }

        switch self {
        case .hot:
            return (c(205, 50, v1), c(0, 230, v2), c(0, 55, v3))
        case .mem:
            return (0, c(190, 50, v1), c(0, 210, v2))
        case .io:
            let grey = c(80, 60, v1)
            return (grey, grey, c(190, 55, v2))
        case .blue:
            return (c(50, 60, v1), c(110, 60, v1), c(205, 50, v2))
        case .green:
            return (c(50, 60, v1), c(190, 60, v2), c(50, 60, v3))
        case .kind:
            switch kind ?? FlameGraphPalette.kind(ofFoldedName: name) {
            case .kernel:
                return (c(225, 30, v1), c(120, 55, v2), c(0, 45, v3))
            case .application:
                return (c(205, 50, v1), c(50, 60, v2), c(40, 40, v3))
            case .library:
                return (c(165, 50, v1), c(195, 45, v2), c(40, 55, v3))
            case .unknown:
                let grey = c(160, 40, v1)
                return (grey, grey, grey)
            }
        }
    }

    /// A differential graph's fill: white where the change is under `threshold` (none, or too small to tell),
    /// shading to red as the frame grew and to blue as it shrank, against the largest change in the graph (the
    /// root's is left out of `largest`, so it may pass it: no deeper than the deepest shade).
    static func differentialFill(change: Double, largest: Double, threshold: Double) -> String {
        guard change.magnitude >= threshold, largest > 0 else { return "rgb(255,255,255)" }
        let fade = String(Int(210 * (1 - min(1, change.magnitude / largest))))
        return change > 0 ? "rgb(255," + fade + "," + fade + ")" : "rgb(" + fade + "," + fade + ",255)"
    }

    /// 64-bit FNV-1a over the UTF-8 bytes of `text`: stable across processes, platforms and releases.
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }

    /// A finalizer (from MurmurHash3) so that similar names spread over all bits, not just the low ones.
    static func mix(_ value: UInt64) -> UInt64 {
        var h = value
        h ^= h >> 33
        h &*= 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h &*= 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }
}
