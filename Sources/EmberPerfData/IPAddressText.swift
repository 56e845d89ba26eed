/// The kernel's `%pI4`, `%pI6`, `%pI6c` and `%pIS[pc]` (a `struct sockaddr`) as text, the way `perf script` shows
/// tcp and sock tracepoints: `127.0.0.1`, `::ffff:127.0.0.1`, `127.0.0.1:43547`, `[::1]:22`.
struct IPAddressText {
    let text: String

    /// `kind` is what follows `%p`: `I4`, `i4`, `I6`, `i6`, `I6c`, `ISpc`, ...
    init?(kind: String, bytes: [UInt8]) {
        let options = kind.dropFirst(2)
        let dotted = kind.hasPrefix("I")
        switch kind.dropFirst().first {
        case "4":
            guard bytes.count >= 4 else { return nil }
            text = IPAddressText.v4(bytes[0..<4], padded: !dotted)
        case "6":
            guard bytes.count >= 16 else { return nil }
            text = IPAddressText.v6(bytes[0..<16], compressed: options.contains("c"), colons: dotted)
        case "S":
            // sa_family in host order, then the port in network order; sin_addr at 4, sin6_addr at 8.
            guard bytes.count >= 8 else { return nil }
            let family = UInt16(bytes[0]) | UInt16(bytes[1]) << 8
            let port = UInt16(bytes[2]) << 8 | UInt16(bytes[3])
            let withPort = options.contains("p")
            if family == 2 {
                text = IPAddressText.v4(bytes[4..<8], padded: !dotted) + (withPort ? ":\(port)" : "")
            } else if family == 10, bytes.count >= 24 {
                let address = IPAddressText.v6(bytes[8..<24], compressed: options.contains("c"), colons: dotted)
                text = withPort ? "[\(address)]:\(port)" : address
            } else {
                return nil
            }
        default:
            return nil
        }
    }

    private static func v4(_ b: ArraySlice<UInt8>, padded: Bool) -> String {
        b.map { padded ? String(repeating: "0", count: $0 < 10 ? 2 : $0 < 100 ? 1 : 0) + String($0) : String($0) }.joined(separator: ".")
    }

    private static func v6(_ b: ArraySlice<UInt8>, compressed: Bool, colons: Bool) -> String {
        let words = stride(from: b.startIndex, to: b.endIndex, by: 2).map { UInt16(b[$0]) << 8 | UInt16(b[$0 + 1]) }
        guard compressed else {
            let groups = words.map { String(repeating: "0", count: 4 - String($0, radix: 16).count) + String($0, radix: 16) }
            return groups.joined(separator: colons ? ":" : "")
        }
        // An IPv4-mapped address keeps its dotted tail.
        if words[0..<5].allSatisfy({ $0 == 0 }), words[5] == 0xffff {
            return "::ffff:" + v4(b.suffix(4), padded: false)
        }
        // The longest run of two or more zero words becomes "::" (RFC 5952).
        var best = (start: -1, length: 0)
        var i = 0
        while i < 8 {
            var j = i
            while j < 8 && words[j] == 0 { j += 1 }
            if j - i > best.length && j - i > 1 { best = (i, j - i) }
            i = j == i ? i + 1 : j
        }
        let hex = words.map { String($0, radix: 16) }
        guard best.start >= 0 else { return hex.joined(separator: ":") }
        return hex[0..<best.start].joined(separator: ":") + "::" + hex[(best.start + best.length)...].joined(separator: ":")
    }
}
