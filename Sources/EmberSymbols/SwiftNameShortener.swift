/// Turns the Swift demangler's full text into the short form people write:
/// `swiftwork.Sorter.sortMany(Swift.Int) -> ()` becomes `Sorter.sortMany(_:)`,
/// `generic specialization <Swift.Int> of swiftwork.Sorter.sort<A>(inout [A]) -> ()` becomes
/// `Sorter.sort(_:) [specialized]`, `closure #1 (Swift.Int) -> Swift.Bool in main.run() -> ()` becomes
/// `closure #1 in run()`. Anything it does not recognise is returned whole rather than guessed at.
enum SwiftNameShortener {
    private static let markers: [(prefix: String, mark: String)] = [
        ("generic specialization ", " [specialized]"),
        ("function signature specialization ", " [specialized]"),
        ("generic partial specialization ", " [specialized]"),
        ("merged ", " [merged]"),
        ("partial apply for ", " [partial apply]"),
    ]

    static func shorten(_ full: String) -> String {
        var text = Substring(full)
        var suffix = ""
        var progressed = true
        while progressed {
            progressed = false
            for (prefix, mark) in markers where text.hasPrefix(prefix) {
                text = text.dropFirst(prefix.count)
                // Specializations name their arguments in <...> and then say "of".
                if text.hasPrefix("<"), let close = matching(text, from: text.startIndex) {
                    text = text[text.index(after: close)...].drop { $0 == " " }
                }
                if text.hasPrefix("of ") { text = text.dropFirst(3) }
                if !suffix.contains(mark) { suffix += mark }
                progressed = true
            }
        }
        // "closure #1 (Swift.Int) -> Swift.Bool in <function>" and friends.
        for kind in ["closure #", "implicit closure #"] where text.hasPrefix(kind) {
            guard let inRange = text.firstRange(of: " in ") else { break }
            let number = text.dropFirst(kind.count).prefix { $0.isNumber }
            let owner = text[inRange.upperBound...]
            return kind + number + " in " + shortenFunction(owner) + suffix
        }
        return shortenFunction(text) + suffix
    }

    /// `module.Type.name<Generic>(label: T, U) -> R` → `Type.name(label:_:)`; accessors lose their type.
    private static func shortenFunction(_ text: Substring) -> String {
        var text = text
        var prefix = ""
        for word in ["static ", "dispatch thunk of ", "protocol witness for ", "@objc "] where text.hasPrefix(word) {
            prefix += word
            text = text.dropFirst(word.count)
        }
        // Accessors and variables: "module.Type.value.getter : Swift.Int".
        if let colon = text.firstRange(of: " : "), !text[..<colon.lowerBound].contains("(") {
            return prefix + dropModule(text[..<colon.lowerBound])
        }
        guard let open = firstParameterList(text), let close = matching(text, from: open) else {
            return prefix + String(text)
        }
        var name = text[..<open]
        if name.hasSuffix(">"), let generic = genericStart(name) { name = name[..<generic] }
        let labels = parameterLabels(text[text.index(after: open)..<close])
        return prefix + dropModule(name) + "(" + labels + ")"
    }

    /// The `(` that opens the parameter list: the first one outside generic brackets.
    private static func firstParameterList(_ text: Substring) -> Substring.Index? {
        var depth = 0
        for i in text.indices {
            switch text[i] {
            case "<": depth += 1
            case ">": if depth > 0 && text[text.index(before: i)] != "-" { depth -= 1 }
            case "(": if depth == 0 { return i }
            default: break
            }
        }
        return nil
    }

    /// The bracket closing the one at `start` (`(`/`)`, `<`/`>`, `[`/`]`), skipping nested ones and `->`.
    private static func matching(_ text: Substring, from start: Substring.Index) -> Substring.Index? {
        var depth = 0
        var i = start
        while i < text.endIndex {
            let c = text[i]
            if c == "(" || c == "[" || c == "<" { depth += 1 }
            if c == ")" || c == "]" || (c == ">" && (i == text.startIndex || text[text.index(before: i)] != "-")) {
                depth -= 1
                if depth == 0 { return i }
            }
            i = text.index(after: i)
        }
        return nil
    }

    private static func genericStart(_ name: Substring) -> Substring.Index? {
        var depth = 0
        var i = name.endIndex
        while i > name.startIndex {
            i = name.index(before: i)
            if name[i] == ">" { depth += 1 }
            if name[i] == "<" {
                depth -= 1
                if depth == 0 { return i }
            }
        }
        return nil
    }

    /// `label: Type, Type` → `label:_:`.
    private static func parameterLabels(_ list: Substring) -> String {
        guard !list.allSatisfy({ $0 == " " }) else { return "" }
        var labels = ""
        var depth = 0
        var start = list.startIndex
        var i = list.startIndex
        func take(_ parameter: Substring) {
            let p = parameter.drop { $0 == " " }
            if let colon = p.firstIndex(of: ":"), p[..<colon].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }),
               p.index(after: colon) < p.endIndex, p[p.index(after: colon)] == " " {
                labels += p[..<colon] + ":"
            } else {
                labels += "_:"
            }
        }
        while i < list.endIndex {
            let c = list[i]
            if c == "(" || c == "[" || c == "<" { depth += 1 }
            if c == ")" || c == "]" || (c == ">" && list[list.index(before: i)] != "-") { depth -= 1 }
            if c == "," && depth == 0 {
                take(list[start..<i])
                start = list.index(after: i)
            }
            i = list.index(after: i)
        }
        take(list[start...])
        return labels
    }

    /// `module.Type.name` → `Type.name`; a bare `module.name` keeps `name`.
    private static func dropModule(_ name: Substring) -> String {
        guard let dot = name.firstIndex(of: "."), !name[..<dot].contains(" ") else { return String(name) }
        return String(name[name.index(after: dot)...])
    }
}
