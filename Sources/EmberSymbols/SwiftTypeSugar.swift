/// The runtime's `swift_demangle` prints types plainly (`Swift.Array<Swift.Int>`, `Swift.Optional<A>`), while
/// `swift demangle` shows the sugar people write (`[Swift.Int]`, `A?`, `[K : V]`). Flags that would ask the runtime
/// for sugar are fatal there, so the sugar is put back here.
enum SwiftTypeSugar {
    private static let forms: [(prefix: [UInt8], kind: Kind)] = [
        (Array("Swift.Array<".utf8), .array),
        (Array("Swift.Optional<".utf8), .optional),
        (Array("Swift.Dictionary<".utf8), .dictionary),
    ]

    private enum Kind { case array, optional, dictionary }

    static func apply(_ text: String) -> String {
        let bytes = Array(text.utf8)
        guard bytes.count > 12, text.contains("Swift.") else { return text }
        return String(decoding: sugar(bytes[...]), as: UTF8.self)
    }

    private static func sugar(_ s: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = s.startIndex
        outer: while i < s.endIndex {
            if s[i] == UInt8(ascii: "S"), i == s.startIndex || !isIdentifier(s[i - 1]) {
                for (prefix, kind) in forms where s[i...].starts(with: prefix) {
                    let open = i + prefix.count - 1
                    guard let close = matchingAngle(s, open) else { break }
                    let inner = sugar(s[(open + 1)..<close])
                    switch kind {
                    case .array:
                        out.append(UInt8(ascii: "["))
                        out += inner
                        out.append(UInt8(ascii: "]"))
                    case .optional:
                        let wrap = needsParentheses(inner)
                        if wrap { out.append(UInt8(ascii: "(")) }
                        out += inner
                        if wrap { out.append(UInt8(ascii: ")")) }
                        out.append(UInt8(ascii: "?"))
                    case .dictionary:
                        guard let comma = topLevelComma(inner[...]) else { break }
                        out.append(UInt8(ascii: "["))
                        out += inner[..<comma]
                        out += Array(" : ".utf8)
                        out += inner[(comma + 2)...]
                        out.append(UInt8(ascii: "]"))
                    }
                    i = close + 1
                    continue outer
                }
            }
            out.append(s[i])
            i += 1
        }
        return out
    }

    private static func isIdentifier(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f || c == 0x2e
    }

    /// The `>` closing the `<` at `open`; a `>` of `->` does not count.
    private static func matchingAngle(_ s: ArraySlice<UInt8>, _ open: Int) -> Int? {
        var depth = 0
        var i = open
        while i < s.endIndex {
            switch s[i] {
            case UInt8(ascii: "<"), UInt8(ascii: "("), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: ")"), UInt8(ascii: "]"): depth -= 1
            case UInt8(ascii: ">") where s[i - 1] != UInt8(ascii: "-"):
                depth -= 1
                if depth == 0 { return i }
            default: break
            }
            i += 1
        }
        return nil
    }

    /// The `, ` between a dictionary's key and value types.
    private static func topLevelComma(_ s: ArraySlice<UInt8>) -> Int? {
        var depth = 0
        for i in s.indices {
            switch s[i] {
            case UInt8(ascii: "<"), UInt8(ascii: "("), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: ")"), UInt8(ascii: "]"): depth -= 1
            case UInt8(ascii: ">") where i > s.startIndex && s[i - 1] != UInt8(ascii: "-"): depth -= 1
            case UInt8(ascii: ",") where depth == 0 && i + 1 < s.endIndex && s[i + 1] == UInt8(ascii: " "): return i
            default: break
            }
        }
        return nil
    }

    /// A function type or composition must be parenthesized before `?`.
    private static func needsParentheses(_ s: [UInt8]) -> Bool {
        var depth = 0
        for i in s.indices {
            switch s[i] {
            case UInt8(ascii: "<"), UInt8(ascii: "("), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: ")"), UInt8(ascii: "]"): depth -= 1
            case UInt8(ascii: ">"):
                if i > 0 && s[i - 1] == UInt8(ascii: "-") {
                    if depth == 0 { return true }
                } else {
                    depth -= 1
                }
            case UInt8(ascii: "&") where depth == 0: return true
            default: break
            }
        }
        return false
    }
}
