import CEmberShim
#if canImport(Glibc)
import Glibc
#endif

/// How symbol names are shown.
public enum DemangleStyle: String, Sendable, CaseIterable {
    /// As the binary has them.
    case none
    /// Readable: Swift names as `swift demangle --simplified` prints them (`Type.method(label:_:)`) with
    /// specialization as a suffix, C++ and Rust demangled.
    case short
    /// Everything the demanglers say (for Swift, exactly `swift demangle`'s output).
    case full
}

/// The language a mangled name came from.
public enum SymbolLanguage: Sendable {
    case plain, swift, cplusplus, rust
}

/// Demangles Swift (through the Swift runtime's `swift_demangle`), C++ (`__cxa_demangle`) and Rust legacy names
/// (C++-style with a hash suffix and `$..$` escapes).
public struct Demangler: Sendable {
    public var style: DemangleStyle

    public init(style: DemangleStyle = .short) {
        self.style = style
    }

    /// The name to show, and the language it was mangled in.
    public func demangle(_ name: String) -> (name: String, language: SymbolLanguage) {
        guard style != .none else { return (name, .plain) }
        // A PLT stub (`_ZdlPvm@plt`) and a function LLVM's MergeFunctions made (`_ZN...ETm`, the thunk of identical
        // bodies) are named for the function they stand for, as perf names them.
        if name.hasSuffix("@plt"), name.count > 4 {
            let inner = demangle(String(name.dropLast(4)))
            if inner.language != .plain { return (inner.name + "@plt", inner.language) }
        }
        if Demangler.isSwift(name) {
            if style == .short, let simplified = SwiftSimplifiedNames.name(name), simplified != name {
                return (SwiftNameShortener.markingSuffixes(simplified), .swift)
            }
            if let plain = Demangler.swiftDemanglePlain(name) {
                return (style == .full ? SwiftTypeSugar.apply(plain) : SwiftNameShortener.shorten(plain), .swift)
            }
        }
        if name.hasPrefix("_Z"), let demangled = Demangler.cxxDemangle(name) {
            if Demangler.isRustLegacy(name) { return (Demangler.tidyRust(demangled, full: style == .full), .rust) }
            return (style == .full ? demangled : Demangler.withoutReturnType(demangled), .cplusplus)
        }
        if name.hasPrefix("_Z"), name.hasSuffix("Tm"), let demangled = Demangler.cxxDemangle(String(name.dropLast(2))) {
            return (style == .full ? demangled : Demangler.withoutReturnType(demangled), .cplusplus)
        }
        // A funclet of an async function with a plain name (`async_MainTQ1_`, the async main's entry), shown as the
        // function, as Swift's are.
        if style == .short, SwiftAsyncNames.isResumeFunclet(name) { return (String(SwiftAsyncNames.function(of: name)), .plain) }
        return (name, .plain)
    }

    static func isSwift(_ name: String) -> Bool {
        for prefix in ["$s", "_$s", "$S", "_$S", "$e", "_$e", "_T0"] where name.hasPrefix(prefix) { return true }
        return false
    }

    /// `_ZN...17h0123456789abcdefE`: the Rust legacy scheme ends with a 16-digit hash path component.
    static func isRustLegacy(_ name: String) -> Bool {
        guard name.hasPrefix("_ZN"), name.hasSuffix("E"), name.utf8.count > 21 else { return false }
        let tail = Array(name.utf8.suffix(20))
        return tail[0] == UInt8(ascii: "1") && tail[1] == UInt8(ascii: "7") && tail[2] == UInt8(ascii: "h")
            && tail[3..<19].allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// The Swift runtime's demangling, without the type sugar `swift demangle` adds.
    static func swiftDemanglePlain(_ name: String) -> String? {
        name.withCString { p -> String? in
            guard let out = swift_demangle(p, strlen(p), nil, nil, 0) else { return nil }
            defer { free(out) }
            return String(cString: out)
        }
    }

    static func cxxDemangle(_ name: String) -> String? {
        var status: Int32 = 0
        guard let out = __cxa_demangle(name, nil, nil, &status), status == 0 else { return nil }
        defer { free(out) }
        return String(cString: out)
    }

    /// `std::pair<K, V> Map::find<K>(K const&)` → `Map::find<K>(K const&)`: a template function's demangling
    /// starts with its return type, which perf and stackcollapse do not show. The return type ends at the last
    /// space outside brackets before the parameter list; operators (whose names hold spaces and brackets) are kept.
    static func withoutReturnType(_ name: String) -> String {
        guard name.contains(" "), !name.contains("operator") else { return name }
        // "non-virtual thunk to f()", "vtable for T": the phrase stays, the function after it is looked at.
        for phrase in ["non-virtual thunk to ", "virtual thunk to ", "covariant return thunk to ", "construction vtable for ",
                       "vtable for ", "VTT for ", "typeinfo name for ", "typeinfo for ", "guard variable for ",
                       "TLS init function for ", "TLS wrapper function for ", "transaction clone for "] where name.hasPrefix(phrase) {
            return phrase + withoutReturnType(String(name.dropFirst(phrase.count)))
        }
        let b = Array(name.utf8)
        let anonymous = Array("(anonymous namespace)".utf8)
        var depth = 0, lastSpace = -1, i = 0
        scan: while i < b.count {
            switch b[i] {
            case UInt8(ascii: "("):
                if b[i...].starts(with: anonymous) {
                    i += anonymous.count
                    continue scan
                }
                if depth == 0 { break scan }
                depth += 1
            case UInt8(ascii: "<"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: ">"), UInt8(ascii: ")"), UInt8(ascii: "]"): depth -= 1
            case UInt8(ascii: " ") where depth == 0: lastSpace = i
            default: break
            }
            i += 1
        }
        guard lastSpace > 0 else { return name }
        return String(decoding: b[(lastSpace + 1)...], as: UTF8.self)
    }

    /// `ns::f<int>(int) const` → `ns::f<int>`, as perf's demangling without parameters prints it: the last
    /// parameter list goes, with the qualifiers after it; those of enclosing functions in a local name stay
    /// (`f(int)::{lambda()#1}::operator()`).
    static func withoutParameters(_ name: String) -> String {
        var b = Array(name.utf8)
        for qualifier in [" const", " volatile", " &&", " &"] {
            let q = Array(qualifier.utf8)
            while b.count > q.count, b.suffix(q.count).elementsEqual(q) { b.removeLast(q.count) }
        }
        guard b.last == UInt8(ascii: ")") else { return name }
        var depth = 0, i = b.count - 1
        while i >= 0 {
            if b[i] == UInt8(ascii: ")") { depth += 1 }
            if b[i] == UInt8(ascii: "(") {
                depth -= 1
                if depth == 0 { break }
            }
            i -= 1
        }
        guard i > 0 else { return name }
        return String(decoding: b[..<i], as: UTF8.self)
    }

    /// Drops the `::h<hash>` component (unless `full`) and undoes Rust's symbol escapes.
    static func tidyRust(_ demangled: String, full: Bool) -> String {
        var s = demangled
        if !full, let r = s.ranges(of: "::h").last, s.distance(from: r.upperBound, to: s.endIndex) == 16 {
            s = String(s[..<r.lowerBound])
        }
        // A path component that starts with an escape carries a leading underscore ("_$LT$").
        if s.hasPrefix("_$") { s.removeFirst() }
        s = s.replacing("::_$", with: "::$")
        let escapes: [(String, String)] = [
            ("$LT$", "<"), ("$GT$", ">"), ("$RF$", "&"), ("$BP$", "*"), ("$C$", ","), ("$SP$", "@"),
            ("$u20$", " "), ("$u27$", "'"), ("$u5b$", "["), ("$u5d$", "]"), ("$u7b$", "{"), ("$u7d$", "}"),
            ("$u7e$", "~"), ("$u3b$", ";"), ("$u2b$", "+"), ("$u22$", "\""), ("..", "::"),
        ]
        for (from, to) in escapes where s.contains(from) { s = s.replacing(from, with: to) }
        return s
    }
}
