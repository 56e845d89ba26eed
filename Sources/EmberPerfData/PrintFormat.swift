/// A tracepoint's `print fmt:` line, the kernel's `TP_printk` format string and its C argument expressions, parsed
/// once so that each record prints as `perf script` prints it (`prev_state=S ==> next_comm=...`, `%x` in hex,
/// `__print_symbolic` names). The C understood is libtraceevent's subset: `REC->field`, `REC->array[i]`, integer and
/// string literals, casts, unary and binary operators, `?:`, and the trace helpers (`__get_str`,
/// `__print_flags`, `__print_symbolic`, `__print_hex`, `__print_array`, ...). An identifier the record cannot tell
/// (an enum constant the kernel did not substitute) counts as 0, and a flag or symbol entry naming one is dropped.
public struct PrintFormat: Sendable {
    /// A piece of the format string: literal text, or one `%` conversion.
    enum Piece: Sendable {
        case text(String)
        case conversion(Conversion)
    }

    struct Conversion: Sendable {
        var leftAlign = false, zeroPad = false, alternate = false, plus = false, space = false
        /// Each -1 when taken from the argument list (`*`, `.*`); at most `PrintFormat.widthLimit`.
        var width: Int?
        var precision: Int?
        /// Bytes of the integer the length modifier names: 1 (`hh`), 2 (`h`), 4 (none), 8 (`l`, `ll`, `z`, ...).
        var size = 4
        var character: Character = "d"
        /// `%pS`, `%ps`, `%pM`, `%pI4`, ...: what follows `p`.
        var pointerKind = ""
    }

    indirect enum Expr: Sendable {
        /// A literal; unsigned with a `U` suffix.
        case number(Int64, unsigned: Bool)
        case string(String)
        case field(Int)
        case element(Int, Expr)
        /// An identifier that is not in the record (an enum constant, a kernel variable).
        case unknown(String)
        case unary(Character, Expr)
        case binary(BinaryOperator, Expr, Expr)
        case conditional(Expr, Expr, Expr)
        /// Bytes and signedness of the type cast to; 8 and unsigned for pointers.
        case cast(size: Int, signed: Bool, Expr)
        case dynamicString(Int)
        case dynamicArray(Int)
        case dynamicArrayLength(Int)
        /// The entries' values are constants, worked out when parsed.
        case flags(Expr, delimiter: String, [(Int64, String)])
        case symbols(Expr, [(Int64, String)])
        case hex(Expr, length: Expr, separated: Bool)
        case array(Expr, count: Expr, elementSize: Expr)
    }

    enum BinaryOperator: String, Sendable, CaseIterable {
        case or = "||", and = "&&", bitOr = "|", bitXor = "^", bitAnd = "&", equal = "==", notEqual = "!="
        case less = "<", greater = ">", lessEqual = "<=", greaterEqual = ">="
        case shiftLeft = "<<", shiftRight = ">>", plus = "+", minus = "-", times = "*", divide = "/", remainder = "%"

        /// C's binding strength: higher binds tighter.
        var precedence: Int {
            switch self {
            case .or: return 1
            case .and: return 2
            case .bitOr: return 3
            case .bitXor: return 4
            case .bitAnd: return 5
            case .equal, .notEqual: return 6
            case .less, .greater, .lessEqual, .greaterEqual: return 7
            case .shiftLeft, .shiftRight: return 8
            case .plus, .minus: return 9
            case .times, .divide, .remainder: return 10
            }
        }
    }

    let pieces: [Piece]
    let arguments: [Expr]

    /// Parses the text after `print fmt: `; nil when any of it is outside the subset, so that the caller can fall
    /// back to printing the fields by name.
    public init?(_ text: Substring, fields: [TracepointFormat.Field]) {
        var parser = Parser(tokens: Lexer.tokens(text) ?? [], fields: fields)
        guard case .string(let format)? = parser.next() else { return nil }
        var arguments: [Expr] = []
        while parser.peek != nil {
            guard parser.take(.punctuation(",")), let e = parser.expression() else { return nil }
            arguments.append(e)
        }
        guard let pieces = PrintFormat.pieces(format) else { return nil }
        self.pieces = pieces
        self.arguments = arguments
    }

    /// Splits a printf format into text and conversions.
    static func pieces(_ format: String) -> [Piece]? {
        var pieces: [Piece] = []
        var text = ""
        var chars = Array(format)[...]
        while let c = chars.popFirst() {
            guard c == "%" else { text.append(c); continue }
            if chars.first == "%" { chars.removeFirst(); text.append("%"); continue }
            var conversion = Conversion()
            while let f = chars.first, "-0#+ ".contains(f) {
                switch f {
                case "-": conversion.leftAlign = true
                case "0": conversion.zeroPad = true
                case "#": conversion.alternate = true
                case "+": conversion.plus = true
                default: conversion.space = true
                }
                chars.removeFirst()
            }
            conversion.width = number(&chars)
            if chars.first == "." {
                chars.removeFirst()
                conversion.precision = number(&chars) ?? 0
            }
            var letters = ""
            while let l = chars.first, "hlLzjtq".contains(l) { letters.append(l); chars.removeFirst() }
            switch letters {
            case "hh": conversion.size = 1
            case "h": conversion.size = 2
            case "": conversion.size = 4
            default: conversion.size = 8
            }
            guard let character = chars.popFirst(), "diouxXcsp".contains(character) else { return nil }
            conversion.character = character
            if character == "p" { conversion.pointerKind = pointerKind(&chars) }
            if !text.isEmpty { pieces.append(.text(text)); text = "" }
            pieces.append(.conversion(conversion))
        }
        if !text.isEmpty { pieces.append(.text(text)) }
        return pieces
    }

    /// The widest field a conversion pads to: a format's (or a record's) width beyond it is clamped.
    static let widthLimit = 4096

    private static func number(_ chars: inout ArraySlice<Character>) -> Int? {
        if chars.first == "*" { chars.removeFirst(); return -1 }
        var value: Int?
        while let d = chars.first?.wholeNumberValue, chars.first!.isASCII {
            value = min(widthLimit, (value ?? 0) * 10 + d)
            chars.removeFirst()
        }
        return value
    }

    /// The kernel's `%p` extensions that change what is printed: symbols, MAC and IP addresses (`%pI4`, `%pI6c`,
    /// `%pISpc`).
    private static func pointerKind(_ chars: inout ArraySlice<Character>) -> String {
        guard let first = chars.first, "SsFfBMmIi".contains(first) else { return "" }
        chars.removeFirst()
        var kind = String(first)
        if "Ii".contains(first), let v = chars.first, "46S".contains(v) {
            kind.append(v)
            chars.removeFirst()
            while let option = chars.first, "pcfsnbhl".contains(option) { kind.append(option); chars.removeFirst() }
        }
        return kind
    }
}

/// The tokens of a `print fmt:` line.
enum Token: Equatable {
    case string(String)
    case number(Int64, unsigned: Bool)
    case identifier(String)
    case punctuation(String)
}

enum Lexer {
    private static let punctuation = ["->", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||",
                                      "(", ")", "[", "]", "{", "}", ",", "?", ":", "+", "-", "*", "/", "%", "&", "|",
                                      "^", "!", "~", "<", ">", "."]

    static func tokens(_ text: Substring) -> [Token]? {
        var tokens: [Token] = []
        var s = text.unicodeScalars[...]
        while let c = s.first {
            if c == " " || c == "\t" || c == "\n" { s.removeFirst(); continue }
            if c == "\"" {
                s.removeFirst()
                var value = ""
                var closed = false
                while let d = s.popFirst() {
                    if d == "\"" { closed = true; break }
                    guard d == "\\" else { value.unicodeScalars.append(d); continue }
                    switch s.popFirst() {
                    case "n": value.append("\n")
                    case "t": value.append("\t")
                    case "\\": value.append("\\")
                    case "\"": value.append("\"")
                    case let other?: value.unicodeScalars.append(other)
                    case nil: return nil
                    }
                }
                guard closed else { return nil }
                // Adjacent literals are one string, as in C.
                if case .string(let previous)? = tokens.last { tokens[tokens.count - 1] = .string(previous + value) } else { tokens.append(.string(value)) }
                continue
            }
            if c.properties.numericType != nil, c.isASCII {
                var digits = ""
                while let d = s.first, d.isASCII, d.properties.isAlphabetic || d.properties.numericType != nil { digits.unicodeScalars.append(d); s.removeFirst() }
                // Suffixes: U makes the literal unsigned; L changes nothing in 64 bits.
                var unsigned = false
                while let last = digits.last, "uUlL".contains(last) {
                    if last == "u" || last == "U" { unsigned = true }
                    digits.removeLast()
                }
                let value: UInt64?
                if digits.lowercased().hasPrefix("0x") { value = UInt64(digits.dropFirst(2), radix: 16) }
                else if digits.count > 1, digits.hasPrefix("0") { value = UInt64(digits.dropFirst(), radix: 8) }
                else { value = UInt64(digits) }
                guard let value else { return nil }
                tokens.append(.number(Int64(bitPattern: value), unsigned: unsigned || value > UInt64(Int64.max)))
                continue
            }
            if c.isASCII, c.properties.isAlphabetic || c == "_" {
                var name = ""
                while let d = s.first, d.isASCII, d.properties.isAlphabetic || d.properties.numericType != nil || d == "_" { name.unicodeScalars.append(d); s.removeFirst() }
                tokens.append(.identifier(name))
                continue
            }
            let rest = String(String.UnicodeScalarView(s.prefix(2)))
            guard let p = punctuation.first(where: { rest.hasPrefix($0) }) else { return nil }
            s.removeFirst(p.count)
            tokens.append(.punctuation(p))
        }
        return tokens
    }
}

/// A recursive-descent parser over the tokens, with C's precedence for binary operators.
struct Parser {
    private var tokens: ArraySlice<Token>
    private let fields: [TracepointFormat.Field]
    /// How deep the expression nests; past `depthLimit` the format is refused rather than the stack exhausted.
    private var depth = 0
    private static let depthLimit = 200

    init(tokens: [Token], fields: [TracepointFormat.Field]) {
        self.tokens = tokens[...]
        self.fields = fields
    }

    var peek: Token? { tokens.first }

    mutating func next() -> Token? { tokens.popFirst() }

    mutating func take(_ token: Token) -> Bool {
        guard tokens.first == token else { return false }
        tokens.removeFirst()
        return true
    }

    mutating func expression() -> PrintFormat.Expr? {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Parser.depthLimit, let condition = binary(above: 0) else { return nil }
        guard take(.punctuation("?")) else { return condition }
        guard let yes = expression(), take(.punctuation(":")), let no = expression() else { return nil }
        return .conditional(condition, yes, no)
    }

    private mutating func binary(above precedence: Int) -> PrintFormat.Expr? {
        guard var left = unary() else { return nil }
        while case .punctuation(let p)? = peek, let op = PrintFormat.BinaryOperator(rawValue: p), op.precedence > precedence {
            tokens.removeFirst()
            guard let right = binary(above: op.precedence) else { return nil }
            left = .binary(op, left, right)
        }
        return left
    }

    private mutating func unary() -> PrintFormat.Expr? {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Parser.depthLimit else { return nil }
        if case .punctuation(let p)? = peek, ["-", "!", "~", "+"].contains(p) {
            tokens.removeFirst()
            guard let operand = unary() else { return nil }
            return p == "+" ? operand : .unary(Character(p), operand)
        }
        if let (size, signed) = castType() {
            guard let operand = unary() else { return nil }
            return .cast(size: size, signed: signed, operand)
        }
        return primary()
    }

    /// A parenthesized type name at the head: its bytes and signedness, the tokens consumed.
    private mutating func castType() -> (Int, Bool)? {
        guard peek == .punctuation("(") else { return nil }
        var words: [String] = []
        var pointer = false
        var i = tokens.index(after: tokens.startIndex)
        while i < tokens.endIndex {
            switch tokens[i] {
            case .identifier(let w): words.append(w)
            case .punctuation("*"): pointer = true
            case .punctuation(")"):
                guard !words.isEmpty, let type = Parser.type(words, pointer: pointer) else { return nil }
                tokens = tokens[tokens.index(after: i)...]
                return type
            default: return nil
            }
            i = tokens.index(after: i)
        }
        return nil
    }

    private static let typeWords: Set<String> = ["struct", "union", "enum", "const", "volatile", "unsigned", "signed",
                                                 "char", "short", "int", "long", "void", "bool", "_Bool"]

    /// What a cast to these words does: a width and a signedness. Nil when the words are not a type (a name in
    /// parentheses).
    static func type(_ words: [String], pointer: Bool) -> (Int, Bool)? {
        if pointer { return (8, false) }
        let last = words[words.count - 1]
        let fixed = last.drop { $0 == "_" }
        if let kind = fixed.first, kind == "u" || kind == "s", let bits = Int(fixed.dropFirst()), [8, 16, 32, 64].contains(bits) {
            return (bits / 8, kind == "s")
        }
        switch last {
        case "size_t", "uintptr_t", "dma_addr_t", "phys_addr_t", "sector_t", "blkcnt_t", "u_long": return (8, false)
        case "ssize_t", "loff_t", "off_t", "time64_t", "ktime_t", "intptr_t", "ptrdiff_t": return (8, true)
        case "gfp_t", "fmode_t", "dev_t", "uid_t", "gid_t", "umode_t": return (4, false)
        case "pid_t", "clockid_t": return (4, true)
        default: break
        }
        guard words.contains(where: typeWords.contains) || last.hasSuffix("_t") else { return nil }
        let signed = !words.contains("unsigned") && !words.contains("bool") && !words.contains("_Bool")
        if words.contains("struct") || words.contains("union") || words.contains("void") { return (8, signed) }
        if words.contains("char") || words.contains("bool") || words.contains("_Bool") { return (1, signed) }
        if words.contains("short") { return (2, signed) }
        if words.contains("long") { return (8, signed) }
        if words.contains("int") || words.contains("unsigned") || words.contains("signed") || words.contains("enum") { return (4, signed) }
        return (8, signed)
    }

    private mutating func primary() -> PrintFormat.Expr? {
        switch next() {
        case .number(let n, let unsigned)?: return .number(n, unsigned: unsigned)
        case .string(let s)?: return .string(s)
        case .punctuation("(")?:
            guard let e = expression(), take(.punctuation(")")) else { return nil }
            return e
        case .identifier("REC")?:
            guard take(.punctuation("->")), case .identifier(let name)? = next(), let index = field(name) else { return nil }
            guard take(.punctuation("[")) else { return .field(index) }
            guard let position = expression(), take(.punctuation("]")) else { return nil }
            return .element(index, position)
        case .identifier(let name)?:
            guard take(.punctuation("(")) else { return .unknown(name) }
            return call(name)
        default:
            return nil
        }
    }

    private func field(_ name: String) -> Int? {
        fields.firstIndex { $0.baseName == name }
    }

    /// The trace helpers; any other function call is outside the subset.
    private mutating func call(_ name: String) -> PrintFormat.Expr? {
        var arguments: [PrintFormat.Expr] = []
        var entries: [(Int64, String)] = []
        if !take(.punctuation(")")) {
            repeat {
                if take(.punctuation("{")) {
                    guard let value = expression(), take(.punctuation(",")), let label = expression(), take(.punctuation("}")) else { return nil }
                    // `{ 0, ((void *)0) }` ends some lists; an entry whose value names an unknown constant cannot
                    // match anything.
                    if case .string(let text) = label, case .int(let v, _)? = value.constant { entries.append((v, text)) }
                } else {
                    guard let e = expression() else { return nil }
                    arguments.append(e)
                }
            } while take(.punctuation(","))
            guard take(.punctuation(")")) else { return nil }
        }
        func fieldArgument() -> Int? {
            guard arguments.count == 1, case .unknown(let f) = arguments[0] else { return nil }
            return field(f)
        }
        switch name {
        case "__get_str", "__get_rel_str":
            return fieldArgument().map { .dynamicString($0) }
        case "__get_dynamic_array", "__get_rel_dynamic_array":
            return fieldArgument().map { .dynamicArray($0) }
        case "__get_dynamic_array_len", "__get_rel_dynamic_array_len":
            return fieldArgument().map { .dynamicArrayLength($0) }
        case "__print_flags", "__print_flags_u64":
            guard arguments.count == 2, case .string(let delimiter) = arguments[1] else { return nil }
            return .flags(arguments[0], delimiter: delimiter, entries)
        case "__print_symbolic", "__print_symbolic_u64":
            guard arguments.count == 1 else { return nil }
            return .symbols(arguments[0], entries)
        case "__print_hex", "__print_hex_str":
            guard arguments.count == 2 else { return nil }
            return .hex(arguments[0], length: arguments[1], separated: name == "__print_hex")
        case "__builtin_expect":
            guard arguments.count == 2 else { return nil }
            return arguments[0]
        case "__print_array":
            guard arguments.count == 3 else { return nil }
            return .array(arguments[0], count: arguments[1], elementSize: arguments[2])
        default:
            return nil
        }
    }
}
