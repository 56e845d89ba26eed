/// An append-only text buffer with the few formatters an SVG needs: XML escaping, fixed-point decimals and
/// grouped integers. Deliberately free of Foundation (`String(format:)` is slow and locale-sensitive).
struct SVGWriter {
    private(set) var output = ""

    init(capacity: Int) {
        output.reserveCapacity(capacity)
    }

    /// Appends text verbatim; for markup and literals known not to need escaping.
    mutating func raw(_ text: String) {
        output += text
    }

    /// Appends an integer in decimal.
    mutating func int<T: BinaryInteger>(_ value: T) {
        output += String(value)
    }

    /// Appends an unsigned integer with commas between thousands: `1234567` → `1,234,567`.
    mutating func grouped(_ value: UInt64) {
        output += Self.grouped(value)
    }

    /// Appends `value` rounded to `decimals` (0...6) places; with `trim`, trailing zeros and a bare point are
    /// dropped (`10.50` → `10.5`, `3.00` → `3`). Non-finite values print as `0`.
    mutating func fixed(_ value: Double, decimals: Int, trim: Bool) {
        output += Self.fixed(value, decimals: decimals, trim: trim)
    }

    /// Appends text with the XML special characters escaped, so that it is safe both as element content and
    /// inside a double- or single-quoted attribute. Characters XML 1.0 forbids (most C0 controls, U+FFFE,
    /// U+FFFF) become U+FFFD.
    mutating func escaped(_ text: String) {
        var plain = true
        for byte in text.utf8 where byte < 0x20 || byte == 0x26 || byte == 0x3C || byte == 0x3E
            || byte == 0x22 || byte == 0x27 || byte == 0xEF {
            plain = false
            break
        }
        if plain {
            output += text
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "'": output += "&#39;"
            case "\t": output += "&#9;"
            case "\n": output += "&#10;"
            case "\r": output += "&#13;"
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    output.unicodeScalars.append("\u{FFFD}")
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
    }

    // MARK: Formatting

    static func grouped(_ value: UInt64) -> String {
        let digits = String(value)
        let count = digits.utf8.count
        if count <= 3 { return digits }
        var out = ""
        out.reserveCapacity(count + count / 3)
        var index = 0
        for digit in digits {
            if index > 0 && (count - index) % 3 == 0 { out += "," }
            out.append(digit)
            index += 1
        }
        return out
    }

    private static let powersOfTen: [Double] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000]

    static func fixed(_ value: Double, decimals: Int, trim: Bool) -> String {
        let places = min(max(decimals, 0), powersOfTen.count - 1)
        let scale = powersOfTen[places]
        guard value.isFinite else { return "0" }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9.0e18 else { return String(value) }  // beyond fixed-point range; never hit by geometry
        let units = UInt64(scaled)
        let divisor = UInt64(scale)
        var out = value < 0 && units != 0 ? "-" : ""
        out += String(units / divisor)
        var fraction = units % divisor
        var digits = places
        if trim {
            while digits > 0 && fraction % 10 == 0 {
                fraction /= 10
                digits -= 1
            }
        }
        if digits > 0 {
            let text = String(fraction)
            out += "."
            for _ in 0..<(digits - text.utf8.count) { out += "0" }
            out += text
        }
        return out
    }
}
