/// Durations as users write them — `800ns`, `50us` (or `µs`), `2ms`, `1.5s`, `5m`, `1h`, `1d` — in one parser for
/// every option that takes one (`latency --min`, `--switch-output`, `--snapshot-on-latency`, `agent --push-interval`).
enum DurationText {
    /// Longest suffix first, so that `ms` is not read as `m`, nor `ns` as `s`.
    private static let units: [(suffix: String, seconds: Double)] = [
        ("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400),
    ]

    /// The seconds `text` says, or nil when it is not a duration (negative, not finite, or without a unit when
    /// `plainUnit`, the seconds of a bare number's unit, is nil).
    static func seconds(_ text: String, plainUnit: Double? = nil) -> Double? {
        var value: Double?
        if let plainUnit, let plain = Double(text) {
            value = plain * plainUnit
        } else if let unit = units.first(where: { text.hasSuffix($0.suffix) }), let number = Double(text.dropLast(unit.suffix.count)) {
            value = number * unit.seconds
        }
        guard let value, value >= 0, value.isFinite else { return nil }
        return value
    }

    /// Whole nanoseconds, or nil as `seconds` (and for durations past 2^63 ns, some 292 years).
    static func nanoseconds(_ text: String) -> UInt64? {
        guard let s = seconds(text), s * 1e9 < 9.2e18 else { return nil }
        return UInt64((s * 1e9).rounded())
    }
}
