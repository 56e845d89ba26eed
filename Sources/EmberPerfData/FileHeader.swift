/// The 104-byte perf.data header (tools/perf/Documentation/perf.data-file-format.txt).
public struct FileHeader: Equatable, Sendable {
    /// "PERFILE2" read as a little-endian u64.
    public static let magic: UInt64 = 0x3245_4C49_4652_4550
    public static let size = 104

    public struct Section: Equatable, Sendable {
        public var offset: UInt64
        public var size: UInt64
        public init(offset: UInt64, size: UInt64) { self.offset = offset; self.size = size }
    }

    /// Bytes per entry of the attr section: the attr plus a `{offset, size}` section for its ids.
    public var attrEntrySize: UInt64
    public var attrs: Section
    public var data: Section
    public var eventTypes: Section
    /// `adds_features`: bit N set means feature section N is present.
    public var features: [UInt64]

    public init(attrEntrySize: UInt64, attrs: Section, data: Section, features: [UInt64] = [0, 0, 0, 0]) {
        self.attrEntrySize = attrEntrySize
        self.attrs = attrs
        self.data = data
        self.eventTypes = Section(offset: 0, size: 0)
        self.features = features
    }

    public func hasFeature(_ bit: Int) -> Bool {
        bit < 256 && features[bit / 64] & (1 << UInt64(bit % 64)) != 0
    }

    public mutating func setFeature(_ bit: Int) {
        features[bit / 64] |= 1 << UInt64(bit % 64)
    }

    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.u64(FileHeader.magic)
        w.u64(UInt64(FileHeader.size))
        w.u64(attrEntrySize)
        for s in [attrs, data, eventTypes] { w.u64(s.offset); w.u64(s.size) }
        for f in features { w.u64(f) }
        return w.bytes
    }

    public init(decoding b: UnsafeRawBufferPointer) throws {
        guard let magic = b.u64(0) else { throw PerfDataError.notPerfData(reason: "it is shorter than a perf.data header") }
        if magic == FileHeader.magic.byteSwapped {
            throw PerfDataError.unsupported("it is a big-endian perf.data file")
        }
        guard magic == FileHeader.magic else {
            if Array(b[0..<8]) == Array("PERFFILE".utf8) {
                throw PerfDataError.unsupported("it is a perf.data from before 2012 (PERFFILE magic); convert it with a perf of that time")
            }
            throw PerfDataError.notPerfData(reason: "it starts with 0x\(String(magic, radix: 16)), not the PERFILE2 magic")
        }
        guard let size = b.u64(8) else { throw PerfDataError.notPerfData(reason: "the header is cut short") }
        if size == 16 { throw PerfDataError.unsupported("it is a pipe-mode perf.data (perf record -o -); record to a file instead") }
        guard size == 104 || size == 72, let entry = b.u64(16), let ao = b.u64(24), let asz = b.u64(32),
              let dofs = b.u64(40), let dsz = b.u64(48) else {
            throw PerfDataError.notPerfData(reason: "its header size is unexpected")
        }
        attrEntrySize = entry
        attrs = Section(offset: ao, size: asz)
        data = Section(offset: dofs, size: dsz)
        eventTypes = Section(offset: b.u64(56) ?? 0, size: b.u64(64) ?? 0)
        features = size == 104 ? (0..<4).map { b.u64(72 + $0 * 8) ?? 0 } : [0, 0, 0, 0]
    }
}
