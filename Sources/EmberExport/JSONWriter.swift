/// JSON text written straight into a byte buffer: the exports hold hundreds of thousands of numbers, which
/// Foundation's serializer would first box one by one.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 1 << 16) { bytes.reserveCapacity(capacity) }

    mutating func raw(_ text: String) { bytes.append(contentsOf: text.utf8) }

    mutating func string(_ text: String) {
        bytes.append(0x22)
        for b in text.utf8 {
            switch b {
            case 0x22: bytes.append(contentsOf: [0x5c, 0x22])
            case 0x5c: bytes.append(contentsOf: [0x5c, 0x5c])
            case 0x0a: bytes.append(contentsOf: [0x5c, 0x6e])
            case 0x0d: bytes.append(contentsOf: [0x5c, 0x72])
            case 0x09: bytes.append(contentsOf: [0x5c, 0x74])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [0x5c, 0x75, 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 15)]])
            default: bytes.append(b)
            }
        }
        bytes.append(0x22)
    }

    mutating func int<T: BinaryInteger>(_ value: T) { raw(String(value)) }

    /// A number with up to `decimals` digits after the point (milliseconds in the Firefox format).
    mutating func number(_ value: Double, decimals: Int = 6) {
        guard value.isFinite else { return raw("0") }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        // Past what an Int64 holds with its decimals (a corrupt time): Swift's own digits, an exponent and all.
        guard (value * scale).magnitude < 9e18 else { return raw(String(value.rounded())) }
        let n = Int64((value * scale).rounded())
        let whole = n / Int64(scale), fraction = (n % Int64(scale)).magnitude
        var text = (n < 0 && whole == 0 ? "-" : "") + String(whole)
        if fraction > 0 {
            var digits = String(fraction)
            digits = String(repeating: "0", count: decimals - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        raw(text)
    }

    /// `[a,b,c]` of integers, or `null` for nil entries.
    mutating func array<T: BinaryInteger>(_ values: [T?]) {
        bytes.append(0x5b)
        for (i, v) in values.enumerated() {
            if i > 0 { bytes.append(0x2c) }
            if let v { int(v) } else { raw("null") }
        }
        bytes.append(0x5d)
    }

    mutating func array<T: BinaryInteger>(_ values: [T]) { array(values.map { Optional($0) }) }

    mutating func array(_ values: [String]) {
        bytes.append(0x5b)
        for (i, v) in values.enumerated() {
            if i > 0 { bytes.append(0x2c) }
            string(v)
        }
        bytes.append(0x5d)
    }
}
