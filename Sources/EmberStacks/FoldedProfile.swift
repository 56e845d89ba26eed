/// What kind of code a frame is in; drives the `--colors kind` palette of flame graphs.
public enum FrameKind: String, Sendable, CaseIterable {
    /// The kernel (`[kernel.kallsyms]`, modules).
    case kernel
    /// The profiled program's own binaries (the main executable of its process).
    case application
    /// Shared libraries and the dynamic loader.
    case library
    /// Nothing resolved the address.
    case unknown
}

/// Folded stacks: `frame;frame;...;leaf weight`, the interchange format of stackcollapse-perf.pl and flamegraph.pl.
///
/// Stacks are keyed by their joined text so that identical stacks merge; the root (process name) comes first.
public struct FoldedProfile: Sendable, Equatable {
    /// Weight per joined stack (`a;b;c`).
    public private(set) var weights: [String: UInt64] = [:]
    /// The kind of each frame name seen, where the producer knew it (a folded file read from disk does not).
    public private(set) var kinds: [String: FrameKind] = [:]

    public init() {}

    /// Adds `weight` to a stack, saturating at 2^64-1 rather than wrapping.
    public mutating func add(stack: String, weight: UInt64) {
        FoldedProfile.saturatingAdd(&weights[stack, default: 0], weight)
    }

    private static func saturatingAdd(_ total: inout UInt64, _ weight: UInt64) {
        let (sum, overflow) = total.addingReportingOverflow(weight)
        total = overflow ? .max : sum
    }

    public mutating func setKind(_ kind: FrameKind, of frame: String) {
        kinds[frame] = kind
    }

    /// Stacks sorted bytewise, as `sort` in the C locale and stackcollapse-perf.pl print them.
    /// Every stack read leaf first (`a;b;c` as `c;b;a`), merged: what calls into each leaf, summed over callers.
    public var reversed: FoldedProfile {
        var out = FoldedProfile()
        out.kinds = kinds
        for (stack, weight) in weights { out.add(stack: stack.split(separator: ";").reversed().joined(separator: ";"), weight: weight) }
        return out
    }

    public var sortedStacks: [(stack: String, weight: UInt64)] {
        weights.sorted { Array($0.key.utf8).lexicographicallyPrecedes($1.key.utf8) }.map { ($0.key, $0.value) }
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

    /// Parses folded text. Blank lines are skipped; a line without a trailing integer weight is an error.
    public static func parse(_ text: Substring) throws -> FoldedProfile {
        var profile = FoldedProfile()
        var lineNumber = 0
        var total: UInt64 = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let trimmed = line.hasSuffix("\r") ? line.dropLast() : line
            if trimmed.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            guard let space = trimmed.lastIndex(of: " "),
                  let weight = UInt64(trimmed[trimmed.index(after: space)...]) else {
                throw FoldedParseError.missingWeight(line: lineNumber, text: String(trimmed.prefix(80)))
            }
            let (sum, overflow) = total.addingReportingOverflow(weight)
            guard !overflow else { throw FoldedParseError.totalOverflow(line: lineNumber) }
            total = sum
            profile.add(stack: String(trimmed[..<space]), weight: weight)
        }
        return profile
    }
}

public enum FoldedParseError: Error, Equatable, CustomStringConvertible {
    case missingWeight(line: Int, text: String)
    case totalOverflow(line: Int)

    public var description: String {
        switch self {
        case .missingWeight(let line, let text):
            return "line \(line) is not a folded stack ('frame;frame;... weight'): \(text)"
        case .totalOverflow(let line):
            return "the weights add up past 2^64-1 at line \(line); scale them down (divide every weight by 1000, say)"
        }
    }
}
