#if canImport(Glibc)
import Glibc
#endif
import EmberKernel
import EmberReplay

/// Folded stacks: `frame;frame;...;leaf weight`, the interchange format of stackcollapse-perf.pl and flamegraph.pl.
///
/// Stacks are keyed by their joined text so that identical stacks merge; the root (process name) comes first.
public struct FoldedProfile: Sendable, Equatable {
    /// Weight per joined stack (`a;b;c`).
    public private(set) var weights: [String: UInt64] = [:]
    /// The kind of each frame name seen, where the producer knew it (a folded file read from disk does not).
    public private(set) var kinds: [String: FrameKind] = [:]
    /// A differential profile (difffolded.pl's `stack before after` lines): each stack's weight before the change.
    /// `weights` holds the weights after it.
    public private(set) var baseline: [String: UInt64]?
    /// Weights count 1/scale units: a folded file with fractional weights (`a;b 0.25`, as flamegraph.pl takes)
    /// is read exactly to six decimals.
    public private(set) var scale: UInt64 = 1
    /// Lines of a folded file that were not folded stacks, and the first of them (`line 3: text`).
    public private(set) var skippedLines = 0
    public private(set) var firstSkipped: String?
    /// From its first sample to its last, in seconds, when it was folded from a recording (a picture's title says it).
    public var seconds: Double?

    public init() {}

    /// Adds `weight` to a stack, saturating at 2^64-1 rather than wrapping.
    public mutating func add(stack: String, weight: UInt64) {
        weights[stack, default: 0] = weights[stack, default: 0].saturatingAdd(weight)
    }

    /// Adds a stack's weight before and after a change.
    public mutating func add(stack: String, before: UInt64, after: UInt64) {
        add(stack: stack, weight: after)
        if baseline == nil { baseline = [:] }
        baseline![stack, default: 0] = baseline![stack, default: 0].saturatingAdd(before)
    }

    public mutating func setKind(_ kind: FrameKind, of frame: String) {
        kinds[frame] = kind
    }

    /// Every stack read leaf first (`a;b;c` as `c;b;a`), merged: what calls into each leaf, summed over callers.
    public var reversed: FoldedProfile {
        var out = self
        func flip(_ stack: String) -> String { stack.split(separator: ";").reversed().joined(separator: ";") }
        out.weights = [:]
        for (stack, weight) in weights { out.add(stack: flip(stack), weight: weight) }
        if let baseline {
            out.baseline = [:]
            for (stack, weight) in baseline { out.baseline![flip(stack), default: 0] = out.baseline![flip(stack), default: 0].saturatingAdd(weight) }
        }
        return out
    }

    /// A differential profile of two (difffolded.pl's): each stack's weight in `after`, with its weight in `before`
    /// as the baseline. `normalize` scales `before` to `after`'s total first, so that shares are compared rather
    /// than counts (difffolded.pl -n).
    public static func differential(before: FoldedProfile, after: FoldedProfile, normalize: Bool) -> FoldedProfile {
        let beforeTotal = before.weights.values.reduce(0.0) { $0 + Double($1) / Double(before.scale) }
        let afterTotal = after.weights.values.reduce(0.0) { $0 + Double($1) / Double(after.scale) }
        let factor = normalize && beforeTotal > 0 ? afterTotal / beforeTotal : 1
        var out = FoldedProfile()
        // Weights in the finer of the two scales, so that fractional folded files keep their decimals.
        out.scale = max(before.scale, after.scale)
        func scaled(_ w: UInt64, _ from: UInt64, by f: Double = 1) -> UInt64 {
            let v = (Double(w) / Double(from) * f * Double(out.scale)).rounded()
            return v >= 1.8e19 ? .max : UInt64(v)
        }
        for (stack, w) in after.weights { out.add(stack: stack, before: 0, after: scaled(w, after.scale)) }
        for (stack, w) in before.weights { out.add(stack: stack, before: scaled(w, before.scale, by: factor), after: 0) }
        out.kinds = before.kinds.merging(after.kinds) { _, new in new }
        return out
    }

    /// Stacks sorted bytewise, as `sort` in the C locale and stackcollapse-perf.pl print them.
    public var sortedStacks: [(stack: String, weight: UInt64)] {
        weights.sorted { FoldedProfile.bytewiseLess($0.key, $1.key) }.map { ($0.key, $0.value) }
    }

    /// `a < b` by their UTF-8 bytes, compared in place (copying each into an array per comparison was an eighth
    /// of a first reading with thousands of stacks).
    static func bytewiseLess(_ a: String, _ b: String) -> Bool {
        let inPlace = a.utf8.withContiguousStorageIfAvailable { x in
            b.utf8.withContiguousStorageIfAvailable { y -> Bool in
                let n = min(x.count, y.count)
                let order = n == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, n)
                return order != 0 ? order < 0 : x.count < y.count
            }
        }
        return (inPlace ?? nil) ?? a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// The folded text, one `stack weight` line per distinct stack, sorted.
    public var text: String {
        var out = ""
        for (stack, weight) in sortedStacks {
            out += stack
            out += " "
            out += String(weight)
            out += "\n"
        }
        return out
    }

    /// Parses folded text: `stack weight` lines, or difffolded.pl's `stack before after`, weights whole or
    /// fractional. Blank lines are skipped; so are lines that are not folded stacks, counted in `skippedLines`
    /// (flamegraph.pl ignores them too). A text whose every line is bad is an error; an empty one, an empty profile.
    public static func parse(_ text: Substring) throws -> FoldedProfile {
        var lines: [(number: Int, stack: Substring, before: Substring?, after: Substring)] = []
        var profile = FoldedProfile()
        var lineNumber = 0
        var decimals = 0
        // "\r\n" is one Character: Windows line ends split too.
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            let trimmed = line.hasSuffix("\r") ? line.dropLast() : line
            if trimmed.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            guard let (stack, after) = splitWeight(trimmed) else {
                profile.skippedLines += 1
                if profile.firstSkipped == nil { profile.firstSkipped = "line \(lineNumber): \(trimmed.prefix(80))" }
                continue
            }
            let differential = splitWeight(stack)
            lines.append(differential.map { (lineNumber, $0.0, $0.1, after) } ?? (lineNumber, stack, nil, after))
            for w in [differential?.1, after] {
                if let w, let dot = w.firstIndex(of: ".") { decimals = max(decimals, w.distance(from: dot, to: w.endIndex) - 1) }
            }
        }
        guard !lines.isEmpty || profile.skippedLines == 0 else {
            throw FoldedParseError.noStacks(firstBad: profile.firstSkipped ?? "")
        }
        decimals = min(decimals, 6)
        for _ in 0..<decimals { profile.scale *= 10 }
        let differential = lines.contains { $0.before != nil }
        var totals: (before: UInt64, after: UInt64) = (0, 0)
        for line in lines {
            let before = line.before.map { scaled($0, decimals) } ?? 0
            guard let after = scaled(line.after, decimals), let before else { throw FoldedParseError.totalOverflow(line: line.number) }
            let (a, o1) = totals.after.addingReportingOverflow(after)
            let (b, o2) = totals.before.addingReportingOverflow(before)
            guard !o1, !o2 else { throw FoldedParseError.totalOverflow(line: line.number) }
            totals = (b, a)
            if differential {
                profile.add(stack: String(line.stack), before: before, after: after)
            } else {
                profile.add(stack: String(line.stack), weight: after)
            }
        }
        return profile
    }

    /// `stack 12` or `stack 0.5` as the stack and its weight's text; nil when the line ends otherwise.
    private static func splitWeight(_ line: Substring) -> (Substring, Substring)? {
        guard let space = line.lastIndex(where: { $0 == " " || $0 == "\t" }) else { return nil }
        let weight = line[line.index(after: space)...]
        let parts = weight.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        func digits(_ s: Substring) -> Bool { s.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }
        guard !parts[0].isEmpty, digits(parts[0]), parts.count == 1 || digits(parts[1]) else { return nil }
        var stack = line[..<space]
        while stack.last == " " || stack.last == "\t" { stack = stack.dropLast() }
        return (stack, weight)
    }

    /// A weight's text in 1/10^decimals units, rounded past six decimals; nil past 2^64-1.
    private static func scaled(_ text: Substring, _ decimals: Int) -> UInt64? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard var value = UInt64(parts[0]) else { return nil }
        let fraction = parts.count > 1 ? Array(parts[1].utf8) : []
        for i in 0..<decimals {
            let digit = i < fraction.count ? UInt64(fraction[i] - 48) : 0
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (plus, o2) = times.addingReportingOverflow(digit)
            guard !o1, !o2 else { return nil }
            value = plus
        }
        if fraction.count > decimals, fraction[decimals] >= 53 {
            guard value < .max else { return nil }
            value += 1
        }
        return value
    }
}

public enum FoldedParseError: Error, Equatable, CustomStringConvertible {
    case noStacks(firstBad: String)
    case totalOverflow(line: Int)

    public var description: String {
        switch self {
        case .noStacks(let firstBad):
            return "no folded stacks ('frame;frame;... weight' lines) in it; \(firstBad)"
        case .totalOverflow(let line):
            return "the weights add up past 2^64-1 at line \(line); scale them down (divide every weight by 1000, say)"
        }
    }
}
