/// `s` as a JSON (and JavaScript) string literal that is safe inside an HTML `<script>` or an SVG CDATA section:
/// quotes, backslashes and control characters escaped, and `<`, `>`, `&`, U+2028 and U+2029 as `\uXXXX`, so no
/// file name or frame name can end the script or the string.
public func jsonStringLiteral(_ s: String) -> String {
    var out = "\""
    for c in s.unicodeScalars {
        switch c {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "<", ">", "&", "\u{2028}", "\u{2029}":
            let hex = String(c.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default:
            if c.value < 0x20 {
                out += "\\u00" + (c.value < 0x10 ? "0" : "") + String(c.value, radix: 16)
            } else {
                out.unicodeScalars.append(c)
            }
        }
    }
    return out + "\""
}
