/// A share (0 to 1) as perf prints a percentage: two decimals (`12.34`), a share exactly between two hundredths
/// (10 samples of 320: 3.125%) rounded to even as printf("%.2f") does. A corrupt file's weights can make any share
/// (its total wrapped): it is clamped before Int().
public func percentText(_ fraction: Double) -> String {
    let hundredths = Int(max(-1e12, min(1e12, (fraction * 10000).rounded(.toNearestOrEven))))
    return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
}

/// `s` with spaces after it up to `width` characters (as it is when already that wide): a text column.
public func padded(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
}
