/// A tracepoint's record layout, from its tracefs `format` file (or the copy in HEADER_TRACING_DATA), and the
/// decoding of its RAW payload into `name=value` text as `perf script` prints it.
public struct TracepointFormat: Sendable {
    public struct Field: Sendable, Equatable {
        public var name: String
        public var type: String
        public var offset: Int
        public var size: Int
        public var signed: Bool
        /// `__data_loc`: a u32 holding the offset (low 16 bits, from the payload start) and length of the data.
        public var isDataLocation: Bool { type.hasPrefix("__data_loc") }
        /// `__rel_loc`: like `__data_loc`, the offset counted from the end of the field.
        public var isRelativeLocation: Bool { type.hasPrefix("__rel_loc") }
        /// `char name[16]` and `__data_loc char[]`.
        public var isString: Bool { type.contains("char") && (name.hasSuffix("]") || type.hasSuffix("[]") || isDataLocation || isRelativeLocation) }
        /// The name without an array suffix.
        public var baseName: String { String(name.prefix { $0 != "[" }) }

        /// This field read as an integer, when it is one.
        public var integer: IntegerField { IntegerField(offset: offset, size: size, signed: signed) }

        /// A 1-, 2-, 4- or 8-byte integer field of a raw record, sign-extended when the field is signed; its bits
        /// as they are otherwise. Nil when the record is too short.
        public func integer(in raw: UnsafeRawBufferPointer) -> Int64? { integer.read(raw) }
    }

    /// Where an integer field stands, without the name and type it was found by: what a loop over millions of
    /// records keeps (copying a `Field` retains two strings).
    public struct IntegerField: Sendable, Equatable {
        public var offset: Int, size: Int, signed: Bool

        @inline(__always)
        public func read(_ raw: UnsafeRawBufferPointer) -> Int64? {
            guard offset >= 0, size >= 0, offset <= raw.count - size else { return nil }
            switch size {
            case 8: return raw.loadUnaligned(fromByteOffset: offset, as: Int64.self)
            case 4: return signed ? Int64(raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)) : Int64(raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            case 2: return signed ? Int64(raw.loadUnaligned(fromByteOffset: offset, as: Int16.self)) : Int64(raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
            case 1: return signed ? Int64(raw.load(fromByteOffset: offset, as: Int8.self)) : Int64(raw.load(fromByteOffset: offset, as: UInt8.self))
            default: return nil
            }
        }
    }

    public var system: String
    public var name: String
    public var id: UInt64
    /// The event's own fields (the `common_*` header fields left out).
    public var fields: [Field]
    /// How the kernel prints a record, when its `print fmt:` is within what Ember evaluates.
    public var printFormat: PrintFormat?

    public init?(text: String, system: String) {
        var name: String?, id: UInt64?
        var fields: [Field] = []
        var printText: Substring?
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingPrefixSpaces
            if trimmed.hasPrefix("print fmt: ") { printText = trimmed.dropFirst(11) }
            if trimmed.hasPrefix("name: ") { name = String(trimmed.dropFirst(6)) }
            if trimmed.hasPrefix("ID: ") { id = UInt64(trimmed.dropFirst(4)) }
            guard trimmed.hasPrefix("field:") else { continue }
            // field:char prev_comm[16];	offset:8;	size:16;	signed:0;
            var declaration = "", offset = 0, size = 0, signed = false
            for part in trimmed.split(separator: ";") {
                let p = part.trimmingPrefixSpaces
                if p.hasPrefix("field:") { declaration = String(p.dropFirst(6)) }
                if p.hasPrefix("offset:") { offset = Int(p.dropFirst(7)) ?? 0 }
                if p.hasPrefix("size:") { size = Int(p.dropFirst(5)) ?? 0 }
                if p.hasPrefix("signed:") { signed = p.dropFirst(7) == "1" }
            }
            guard let space = declaration.lastIndex(of: " ") else { continue }
            // A RAW payload is under 64 KiB (a record's size is 16 bits): an offset or size beyond that is a corrupt
            // format, whose arithmetic (offset + size, count - size) would overflow.
            guard (0...0xffff).contains(offset), (0...0xffff).contains(size) else { continue }
            let fieldName = String(declaration[declaration.index(after: space)...])
            guard !fieldName.hasPrefix("common_") else { continue }
            fields.append(Field(name: fieldName, type: String(declaration[..<space]), offset: offset, size: size, signed: signed))
        }
        guard let name, let id else { return nil }
        self.system = system
        self.name = name
        self.id = id
        self.fields = fields
        printFormat = printText.flatMap { PrintFormat($0, fields: fields) }
    }

    /// A RAW payload as the kernel's print format prints it, as `perf script` shows it; `field=value ...` when the
    /// format is beyond Ember or the payload is cut short.
    public func describe(_ raw: UnsafeRawBufferPointer, context: PrintFormat.Context = .init()) -> String {
        printFormat?.render(raw, fields: fields, context: context) ?? decode(raw)
    }

    /// `field=value ...` for a RAW payload; fields that do not fit in it are left out.
    public func decode(_ raw: UnsafeRawBufferPointer) -> String {
        var parts: [String] = []
        for f in fields {
            guard f.offset >= 0, f.size > 0, f.offset + f.size <= raw.count else { continue }
            parts.append(f.baseName + "=" + value(f, raw))
        }
        return parts.joined(separator: " ")
    }

    private func value(_ f: Field, _ raw: UnsafeRawBufferPointer) -> String {
        if f.isDataLocation || f.isRelativeLocation {
            guard let word = raw.u32(f.offset) else { return "" }
            var start = Int(word & 0xffff)
            if f.isRelativeLocation { start += f.offset + f.size }
            let length = Int(word >> 16)
            guard let bytes = raw.slice(start, length) else { return "" }
            return f.isString ? String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self) : hex(bytes)
        }
        guard let bytes = raw.slice(f.offset, f.size) else { return "" }
        if f.isString { return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self) }
        switch f.size {
        case _ where f.name.hasSuffix("]"):
            return hex(bytes)
        case 1, 2, 4, 8:
            guard let value = f.integer(in: raw) else { return "" }
            if f.signed { return String(value) }
            let v = UInt64(bitPattern: value)
            let name = f.baseName
            let isAddress = f.type.contains("*") || name == "ip" || name == "addr" || name.hasSuffix("_ip") || name.hasSuffix("_addr")
            return isAddress ? "0x" + String(v, radix: 16) : String(v)
        default:
            return hex(bytes)
        }
    }

    private func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        "0x" + hexDigits(bytes)
    }
}

extension Substring {
    var trimmingPrefixSpaces: Substring { drop { $0 == " " || $0 == "\t" } }
}
