/// Turns the Swift demangler's full text into the short form people write:
/// `swiftwork.Sorter.sortMany(Swift.Int) -> ()` becomes `Sorter.sortMany(_:)`,
/// `generic specialization <Swift.Int> of swiftwork.Sorter.sort<A>(inout [A]) -> ()` becomes
/// `Sorter.sort(_:) [specialized]`, `closure #1 (Swift.Int) -> Swift.Bool in main.run() -> ()` becomes
/// `closure #1 in run()`. Anything it does not recognise is returned whole rather than guessed at.
enum SwiftNameShortener {
    /// `swift demangle --simplified`'s prefixes that Ember shows as suffixes, so that a cut-off name (a narrow
    /// flame graph frame) still shows the function: `specialized Sorter.sort<A>(_:)` is
    /// `Sorter.sort<A>(_:) [specialized]`.
    static func markingSuffixes(_ simplified: String) -> String {
        var text = Substring(simplified)
        var suffix = ""
        var progressed = true
        while progressed {
            progressed = false
            for (prefix, mark) in [("specialized ", " [specialized]"), ("partial apply for ", " [partial apply]")] where text.hasPrefix(prefix) {
                text = text.dropFirst(prefix.count)
                if !suffix.contains(mark) { suffix += mark }
                progressed = true
            }
        }
        return text + suffix
    }

    private static let markers: [(prefix: String, mark: String)] = [
        ("generic specialization ", " [specialized]"),
        ("function signature specialization ", " [specialized]"),
        ("generic partial specialization ", " [specialized]"),
        ("generic not re-abstracted specialization ", " [specialized]"),
        ("merged ", " [merged]"),
        ("partial apply for ", " [partial apply]"),
        ("partial apply forwarder for ", " [partial apply]"),
    ]

    /// Shortens the runtime's plain (unsugared) demangling.
    static func shorten(_ plain: String) -> String {
        var text = Substring(SwiftTypeSugar.apply(withoutPrivateContexts(plain)))
        // "(1) suspend resume partial function for f": a piece of async f, shown as f (as --simplified does).
        if text.hasPrefix("("), let r = text.firstRange(of: " resume partial function for "),
           text[text.index(after: text.startIndex)...].prefix(while: { $0.isNumber }).count > 0 {
            text = text[r.upperBound...]
        }
        var suffix = ""
        var progressed = true
        while progressed {
            progressed = false
            for (prefix, mark) in markers where text.hasPrefix(prefix) {
                text = text.dropFirst(prefix.count)
                // Specializations name their arguments in <...> and then say "of" (the arguments' brackets need
                // not balance: "[Closure Propagated : ..., Argument Types : [...]>").
                if text.hasPrefix("<"), let of = text.firstRange(of: "> of ") {
                    text = text[of.upperBound...]
                } else if text.hasPrefix("of ") {
                    text = text.dropFirst(3)
                }
                if !suffix.contains(mark) { suffix += mark }
                progressed = true
            }
        }
        return shortenLocal(text) + suffix
    }

    /// "closure #1 (Swift.Int) -> Swift.Bool in <owner>", "implicit closure #2 ... in", a local function
    /// "helper #1 (x: Swift.Int) -> () in <owner>": the entity without its type, then its owner, shortened the
    /// same way (closures nest).
    private static func shortenLocal(_ text: Substring) -> String {
        var text = text
        var prefix = ""
        for word in ["static ", "dispatch thunk of ", "protocol witness for ", "@objc "] where text.hasPrefix(word) {
            prefix += word
            text = text.dropFirst(word.count)
        }
        let implicit = text.hasPrefix("implicit ") ? "implicit " : ""
        let entity = text.dropFirst(implicit.count)
        let name = entity.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
        let rest = entity.dropFirst(name.count)
        let number = rest.dropFirst(2).prefix { $0.isNumber }
        guard !name.isEmpty, rest.hasPrefix(" #"), !number.isEmpty, let inRange = entity.firstRange(of: " in ") else {
            return prefix + shortenFunction(text)
        }
        return prefix + implicit + name + " #" + number + " in " + shortenLocal(entity[inRange.upperBound...])
    }

    /// A private declaration's discriminator (`(name in _0123…ABCD)` is `name`), an extension's module
    /// (`(extension in Module):`) and generic `where` clauses go, as `swift demangle --simplified` leaves them out:
    /// read as a parameter list, the first two lost the function's name.
    static func withoutPrivateContexts(_ full: String) -> String {
        guard full.contains(" in _") || full.contains("(extension in ") || full.contains(" where ") else { return full }
        var out = Substring(full)
        while let r = out.firstRange(of: " where ") {
            var depth = 0
            var end = r.upperBound
            scan: while end < out.endIndex {
                switch out[end] {
                case "<", "(", "[": depth += 1
                case ")", "]": if depth == 0 { break scan } else { depth -= 1 }
                case ">" where out[out.index(before: end)] != "-": if depth == 0 { break scan } else { depth -= 1 }
                default: break
                }
                end = out.index(after: end)
            }
            out = out[..<r.lowerBound] + out[end...]
        }
        while let r = out.firstRange(of: "(extension in "), let colon = out[r.upperBound...].firstIndex(of: ":"),
              out[r.upperBound..<colon].last == ")" {
            out = out[..<r.lowerBound] + out[out.index(after: colon)...]
        }
        var result = ""
        var rest = out
        while let r = rest.firstRange(of: " in _") {
            let hash = rest[r.upperBound...].prefix { $0.isHexDigit }
            let close = rest.index(r.upperBound, offsetBy: hash.count)
            guard hash.count >= 16, close < rest.endIndex, rest[close] == ")",
                  let open = rest[..<r.lowerBound].lastIndex(of: "("),
                  !rest[rest.index(after: open)..<r.lowerBound].contains(where: { $0 == " " || $0 == ")" }) else {
                result += rest[..<r.upperBound]
                rest = rest[r.upperBound...]
                continue
            }
            result += rest[..<open] + rest[rest.index(after: open)..<r.lowerBound]
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }

    /// `module.Type.name<Generic>(label: T, U) -> R` → `Type.name(label:_:)`; accessors lose their type.
    private static func shortenFunction(_ text: Substring) -> String {
        // Accessors and variables: "module.Type.value.getter : Swift.Int".
        if let colon = text.firstRange(of: " : "), !text[..<colon.lowerBound].contains(where: { $0 == "(" || $0 == " " }) {
            return dropModule(text[..<colon.lowerBound])
        }
        guard let open = firstParameterList(text), let close = matching(text, from: open) else {
            return String(text)
        }
        var name = text[..<open]
        if name.hasSuffix(">"), let generic = genericStart(name) { name = name[..<generic] }
        let labels = parameterLabels(text[text.index(after: open)..<close])
        return dropModule(name) + "(" + labels + ")"
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
