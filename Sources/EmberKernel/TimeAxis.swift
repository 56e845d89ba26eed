/// Round steps for a time axis, in seconds: 1, 2 and 5 times the powers of ten up to 5 s, then steps that divide
/// minutes and hours.
public let timeAxisSteps: [Double] = [-6, -5, -4, -3, -2, -1, 0].flatMap { power -> [Double] in
    let unit = pow10(power)
    return [unit, 2 * unit, 5 * unit]
} + [10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21600, 43200, 86400]

/// The smallest round step that puts at most `most` ticks on an axis `span` seconds long.
public func timeAxisStep(_ span: Double, most: Int = 10) -> Double {
    timeAxisSteps.first { span / $0 <= Double(most) } ?? span / Double(most)
}

private func pow10(_ power: Int) -> Double {
    var value = 1.0
    for _ in 0..<abs(power) { value *= 10 }
    return power < 0 ? 1 / value : value
}
