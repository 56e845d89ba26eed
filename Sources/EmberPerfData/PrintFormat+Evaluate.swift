/// Evaluating a parsed `print fmt:` against one record, and printf's conversions as libtraceevent applies them.
extension PrintFormat {
    /// What the record alone cannot tell: kernel functions (for `%pS` and `%ps`) and the kernel's constant strings
    /// (for a `%s` given an address).
    public struct Context {
        public var kernelFunction: ((UInt64) -> (name: String, offset: UInt64)?)?
        public var kernelStrings: [UInt64: String]

        public init(kernelFunction: ((UInt64) -> (name: String, offset: UInt64)?)? = nil, kernelStrings: [UInt64: String] = [:]) {
            self.kernelFunction = kernelFunction
            self.kernelStrings = kernelStrings
        }
    }

    enum Value {
        /// An integer and whether C would treat it as unsigned (which decides comparisons, division and `>>`).
        case int(Int64, unsigned: Bool)
        case string(String)
        case bytes([UInt8])

        var isUnsigned: Bool {
            if case .int(_, true) = self { return true }
            return false
        }

        var integer: Int64 {
            switch self {
            case .int(let v, _): return v
            case .string(let s): return s.isEmpty ? 0 : 1
            case .bytes(let b): return b.isEmpty ? 0 : 1
            }
        }
    }

    /// The record's text; nil when an argument cannot be read from it (a record cut short) or the format asks for
    /// more arguments than it has.
    func render(_ raw: UnsafeRawBufferPointer, fields: [TracepointFormat.Field], context: Context) -> String? {
        var out = ""
        var next = arguments.startIndex
        func argument() -> Value? {
            guard next < arguments.endIndex else { return nil }
            defer { next += 1 }
            return arguments[next].evaluate(raw, fields)
        }
        for piece in pieces {
            switch piece {
            case .text(let t):
                out += t
            case .conversion(var c):
                // `*` and `.*` take C ints from the arguments: a negative width left-aligns, a negative precision
                // is none.
                if c.width == -1 {
                    guard let w = argument() else { return nil }
                    let width = Int(Int32(truncatingIfNeeded: w.integer))
                    if width < 0 { c.leftAlign = true }
                    c.width = min(PrintFormat.widthLimit, abs(width))
                }
                if c.precision == -1 {
                    guard let p = argument() else { return nil }
                    let precision = Int(Int32(truncatingIfNeeded: p.integer))
                    c.precision = precision < 0 ? nil : min(PrintFormat.widthLimit, precision)
                }
                guard let value = argument() else { return nil }
                out += c.format(value, context: context)
            }
        }
        return out
    }
}

extension PrintFormat.Expr {
    /// The value of an expression that reads nothing from the record; nil when it names an unknown identifier.
    var constant: PrintFormat.Value? {
        guard !mentionsUnknown else { return nil }
        return evaluate(UnsafeRawBufferPointer(start: nil, count: 0), [])
    }

    private var mentionsUnknown: Bool {
        switch self {
        case .unknown: return true
        case .unary(_, let e), .cast(_, _, let e): return e.mentionsUnknown
        case .binary(_, let a, let b): return a.mentionsUnknown || b.mentionsUnknown
        case .conditional(let a, let b, let c): return a.mentionsUnknown || b.mentionsUnknown || c.mentionsUnknown
        default: return false
        }
    }

    func evaluate(_ raw: UnsafeRawBufferPointer, _ fields: [TracepointFormat.Field]) -> PrintFormat.Value? {
        switch self {
        case .number(let n, let unsigned): return .int(n, unsigned: unsigned)
        case .string(let s): return .string(s)
        case .unknown: return .int(0, unsigned: false)
        case .field(let i):
            guard i < fields.count else { return nil }
            let f = fields[i]
            if f.isDataLocation || f.isRelativeLocation { return dynamic(f, raw) }
            guard let bytes = raw.slice(f.offset, f.size) else { return nil }
            if f.isString { return .string(String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)) }
            if f.name.hasSuffix("]") { return .bytes(Array(bytes)) }
            return f.integer(in: raw).map { .int($0, unsigned: !f.signed) }
        case .element(let i, let subscriptExpr):
            guard i < fields.count, let index = subscriptExpr.evaluate(raw, fields)?.integer else { return nil }
            let f = fields[i]
            let count = Int(f.name.drop { $0 != "[" }.dropFirst().prefix { $0 != "]" }) ?? 0
            guard count > 0, f.size % count == 0, index >= 0, index < count else { return nil }
            let element = TracepointFormat.IntegerField(offset: f.offset + Int(index) * (f.size / count), size: f.size / count, signed: f.signed)
            return element.read(raw).map { .int($0, unsigned: !f.signed) }
        case .unary(let op, let e):
            guard let value = e.evaluate(raw, fields) else { return nil }
            let v = value.integer
            switch op {
            case "-": return .int(0 &- v, unsigned: value.isUnsigned)
            case "!": return .int(v == 0 ? 1 : 0, unsigned: false)
            default: return .int(~v, unsigned: value.isUnsigned)
            }
        case .binary(let op, let a, let b):
            guard let l = a.evaluate(raw, fields) else { return nil }
            if op == .and && l.integer == 0 { return .int(0, unsigned: false) }
            if op == .or && l.integer != 0 { return .int(1, unsigned: false) }
            guard let r = b.evaluate(raw, fields) else { return nil }
            return op.apply(l, r)
        case .conditional(let condition, let yes, let no):
            guard let c = condition.evaluate(raw, fields) else { return nil }
            return (c.integer != 0 ? yes : no).evaluate(raw, fields)
        case .cast(let size, let signed, let e):
            guard let v = e.evaluate(raw, fields) else { return nil }
            guard case .int(let n, _) = v else { return v }
            return .int(truncate(n, size: size, signed: signed), unsigned: !signed)
        case .dynamicString(let i), .dynamicArray(let i):
            guard i < fields.count else { return nil }
            return dynamic(fields[i], raw)
        case .dynamicArrayLength(let i):
            guard i < fields.count, let word = raw.u32(fields[i].offset) else { return nil }
            return .int(Int64(word >> 16), unsigned: true)
        case .flags(let e, let delimiter, let entries):
            guard var v = e.evaluate(raw, fields)?.integer else { return nil }
            var names: [String] = []
            if v == 0, let zero = entries.first(where: { $0.0 == 0 }) { return .string(zero.1) }
            for (flag, name) in entries where flag != 0 && v & flag == flag {
                names.append(name)
                v &= ~flag
            }
            if v != 0 { names.append("0x" + String(UInt64(bitPattern: v), radix: 16)) }
            return .string(names.joined(separator: delimiter))
        case .symbols(let e, let entries):
            guard let v = e.evaluate(raw, fields)?.integer else { return nil }
            return .string(entries.first { $0.0 == v }?.1 ?? "0x" + String(UInt64(bitPattern: v), radix: 16))
        case .hex(let e, let lengthExpr, let separated):
            guard case .bytes(let b)? = e.evaluate(raw, fields), let length = lengthExpr.evaluate(raw, fields)?.integer else { return nil }
            return .string(hexDigits(b.prefix(Int(max(0, min(length, Int64(b.count))))), separator: separated ? " " : ""))
        case .array(let e, let countExpr, let sizeExpr):
            guard case .bytes(let b)? = e.evaluate(raw, fields), let count = countExpr.evaluate(raw, fields)?.integer,
                  let size = sizeExpr.evaluate(raw, fields)?.integer, [1, 2, 4, 8].contains(size) else { return nil }
            let n = Int(size)
            let shown = min(Int(clamping: max(0, count)), b.count / n)
            let elements = stride(from: 0, to: shown * n, by: n).map { start in
                b[start..<start + n].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            }
            return .string("{" + elements.map { "0x" + String($0, radix: 16) }.joined(separator: ",") + "}")
        }
    }

    private func dynamic(_ f: TracepointFormat.Field, _ raw: UnsafeRawBufferPointer) -> PrintFormat.Value? {
        guard let word = raw.u32(f.offset) else { return nil }
        var start = Int(word & 0xffff)
        if f.isRelativeLocation { start += f.offset + f.size }
        guard let bytes = raw.slice(start, Int(word >> 16)) else { return nil }
        return f.isString ? .string(String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)) : .bytes(Array(bytes))
    }
}

extension PrintFormat.BinaryOperator {
    /// C's usual arithmetic conversions, in 64 bits: unsigned when either side is.
    func apply(_ left: PrintFormat.Value, _ right: PrintFormat.Value) -> PrintFormat.Value {
        let l = left.integer, r = right.integer
        let unsigned = left.isUnsigned || right.isUnsigned
        let ul = UInt64(bitPattern: l), ur = UInt64(bitPattern: r)
        func truth(_ b: Bool) -> PrintFormat.Value { .int(b ? 1 : 0, unsigned: false) }
        func value(_ v: Int64) -> PrintFormat.Value { .int(v, unsigned: unsigned) }
        switch self {
        case .or: return truth(l != 0 || r != 0)
        case .and: return truth(l != 0 && r != 0)
        case .bitOr: return value(l | r)
        case .bitXor: return value(l ^ r)
        case .bitAnd: return value(l & r)
        case .equal: return truth(l == r)
        case .notEqual: return truth(l != r)
        case .less: return truth(unsigned ? ul < ur : l < r)
        case .greater: return truth(unsigned ? ul > ur : l > r)
        case .lessEqual: return truth(unsigned ? ul <= ur : l <= r)
        case .greaterEqual: return truth(unsigned ? ul >= ur : l >= r)
        // A shift has the left operand's type.
        case .shiftLeft: return .int(r < 0 || r > 63 ? 0 : l << r, unsigned: left.isUnsigned)
        case .shiftRight:
            guard r >= 0, r <= 63 else { return .int(0, unsigned: left.isUnsigned) }
            return .int(left.isUnsigned ? Int64(bitPattern: ul >> ur) : l >> r, unsigned: left.isUnsigned)
        case .plus: return value(l &+ r)
        case .minus: return value(l &- r)
        case .times: return value(l &* r)
        case .divide:
            guard r != 0, unsigned || l != .min || r != -1 else { return value(0) }
            return value(unsigned ? Int64(bitPattern: ul / ur) : l / r)
        case .remainder:
            guard r != 0, unsigned || l != .min || r != -1 else { return value(0) }
            return value(unsigned ? Int64(bitPattern: ul % ur) : l % r)
        }
    }
}

/// Two hex digits a byte.
func hexDigits(_ bytes: some Sequence<UInt8>, separator: String = "") -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: separator)
}

/// Keeps the low `size` bytes, sign- or zero-extended.
private func truncate(_ v: Int64, size: Int, signed: Bool) -> Int64 {
    switch (size, signed) {
    case (1, true): return Int64(Int8(truncatingIfNeeded: v))
    case (1, false): return Int64(UInt8(truncatingIfNeeded: v))
    case (2, true): return Int64(Int16(truncatingIfNeeded: v))
    case (2, false): return Int64(UInt16(truncatingIfNeeded: v))
    case (4, true): return Int64(Int32(truncatingIfNeeded: v))
    case (4, false): return Int64(UInt32(truncatingIfNeeded: v))
    default: return v
    }
}

extension PrintFormat.Conversion {
    func format(_ value: PrintFormat.Value, context: PrintFormat.Context) -> String {
        var text: String
        // A number's sign or 0x, which zero padding goes after.
        var prefix = ""
        var numeric = false
        switch (character, value) {
        case ("s", .string(let s)):
            text = precision.map { String(s.prefix(max(0, $0))) } ?? s
        case ("s", .int(let address, _)):
            text = context.kernelStrings[UInt64(bitPattern: address)] ?? "0x" + String(UInt64(bitPattern: address), radix: 16)
        case ("p", _):
            text = pointer(value, context: context)
        case (_, .string(let s)):
            text = s
        case (_, .bytes(let b)):
            text = hexDigits(b)
        case ("c", .int(let v, _)):
            text = String(UnicodeScalar(UInt8(truncatingIfNeeded: v)))
        case (let c, .int(let v, _)):
            numeric = true
            switch c {
            case "d", "i":
                let n = truncate(v, size: size, signed: true)
                prefix = n < 0 ? "-" : plus ? "+" : space ? " " : ""
                text = String(n.magnitude)
            case "u":
                text = String(UInt64(bitPattern: truncate(v, size: size, signed: false)))
            default:
                let n = UInt64(bitPattern: truncate(v, size: size, signed: false))
                text = String(n, radix: c == "o" ? 8 : 16, uppercase: c == "X")
                if alternate && n != 0 { prefix = c == "o" ? "0" : c == "X" ? "0X" : "0x" }
            }
            // An integer's precision is its least number of digits.
            if let precision, text.count < precision { text = String(repeating: "0", count: precision - text.count) + text }
        }
        let length = prefix.count + text.count
        guard let width, length < width else { return prefix + text }
        let padding = width - length
        if leftAlign { return prefix + text + String(repeating: " ", count: padding) }
        if zeroPad && numeric && precision == nil { return prefix + String(repeating: "0", count: padding) + text }
        return String(repeating: " ", count: padding) + prefix + text
    }

    /// `%p` and the kernel's extensions of it.
    private func pointer(_ value: PrintFormat.Value, context: PrintFormat.Context) -> String {
        switch (pointerKind, value) {
        case ("M", .bytes(let b)), ("m", .bytes(let b)):
            return hexDigits(b.prefix(6), separator: pointerKind == "M" ? ":" : "")
        case (let kind, .bytes(let b)) where kind.hasPrefix("I") || kind.hasPrefix("i"):
            return IPAddressText(kind: kind, bytes: b)?.text ?? hexDigits(b)
        case (_, .int(let v, _)):
            let address = UInt64(bitPattern: v)
            let hex = "0x" + String(address, radix: 16)
            switch pointerKind {
            case "s", "f":
                return context.kernelFunction?(address)?.name ?? hex
            case "S", "F", "B":
                return context.kernelFunction?(address).map { $0.name + "+0x" + String($0.offset, radix: 16) } ?? hex
            default:
                // glibc's %p, which libtraceevent prints with.
                return address == 0 ? "(nil)" : hex
            }
        case (_, .string(let s)):
            return s
        case (_, .bytes(let b)):
            return hexDigits(b)
        }
    }
}
