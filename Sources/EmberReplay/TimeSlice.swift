import EmberKernel

/// `--time` as perf takes it, and more: `START,STOP` in seconds, either perf's absolute form (`10106.410698`, as
/// `perf script` prints times) or, when START is well before the recording, seconds from the recording's start
/// (`1.5,3`); either side may be empty. `10%/3` is the third tenth of the recording, `0%-25%` its first
/// quarter, and a comma joins several of either (`10%/1,10%/3`).
public enum TimeSlice: Equatable, Sendable {
    case seconds(from: Double?, until: Double?)
    case percents([ClosedRange<Double>])

    public enum ParseError: Error, Equatable { case malformed }

    public static func parse(_ text: String) throws -> TimeSlice {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmed }
        if text.contains("%") {
            return .percents(try parts.map(percentRange))
        }
        guard parts.count == 2 else { throw ParseError.malformed }
        func seconds(_ s: String) throws -> Double? {
            if s.isEmpty { return nil }
            guard let v = Double(s), v >= 0, v < 1e10 else { throw ParseError.malformed }
            return v
        }
        let (from, until) = (try seconds(parts[0]), try seconds(parts[1]))
        if let from, let until, from > until { throw ParseError.malformed }
        return .seconds(from: from, until: until)
    }

    /// `10%/3` (the third of the 10% slices) or `20%-30%`, as percentages of the recording.
    private static func percentRange(_ s: String) throws -> ClosedRange<Double> {
        func percent(_ p: Substring) throws -> Double {
            guard p.hasSuffix("%"), let v = Double(p.dropLast()), v >= 0, v <= 100 else { throw ParseError.malformed }
            return v
        }
        if let slash = s.firstIndex(of: "/") {
            let size = try percent(s[..<slash])
            guard size > 0, let n = Int(s[s.index(after: slash)...]), n >= 1, Double(n) * size <= 100.0001 else { throw ParseError.malformed }
            return (Double(n - 1) * size)...min(100, Double(n) * size)
        }
        let ends = s.split(separator: "-", omittingEmptySubsequences: false)
        guard ends.count == 2 else { throw ParseError.malformed }
        let (a, b) = (try percent(ends[0]), try percent(ends[1]))
        guard a <= b else { throw ParseError.malformed }
        return a...b
    }

    /// The spans of sample times (ns) this slice keeps, in a recording whose samples run from `first` to `last`.
    public func spans(first: UInt64, last: UInt64) -> [ClosedRange<UInt64>] {
        switch self {
        case .seconds(let from, let until):
            // START (or STOP, without a START) well before the recording (more than its length and a second before
            // its first sample, so that a time cut short from perf script's output stays absolute): both ends are
            // seconds from the recording's start.
            let relative = (from ?? until ?? 0) * 1e9 < Double(first) - Double(last &- first) - 1e9
            func time(_ seconds: Double?, _ open: UInt64) -> UInt64 {
                guard let seconds else { return open }
                let ns = UInt64((seconds * 1e9).rounded())
                return relative ? first &+ ns : ns
            }
            let a = time(from, 0), b = time(until, .max)
            return a <= b ? [a...b] : []
        case .percents(let ranges):
            // As perf cuts them: both ends rounded, and a slice ending before 100% stops 1 ns short of the next.
            let span = last &- first, length = Double(span)
            // length * 100% can round to 2^64 (a corrupt span near it): at or past the span is the span.
            func at(_ percent: Double) -> UInt64 {
                let v = (length * percent / 100).rounded()
                return v < length ? UInt64(v) : span
            }
            return ranges.map { r in
                let start = first &+ at(r.lowerBound)
                let end = first &+ at(r.upperBound) &- (r.upperBound < 100 ? 1 : 0)
                return start...max(start, end)
            }
        }
    }
}
