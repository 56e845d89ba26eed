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
            if b.count >= 8, Array(b[0..<8]) == Array("PERFILE2".utf8) { throw PerfDataError.notPerfData(reason: "bad magic") }
            throw PerfDataError.notPerfData(reason: "it does not start with the PERFILE2 magic")
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

/// Feature section numbers (`HEADER_*` in tools/perf/util/header.h).
public enum Feature: Int, CaseIterable, Sendable {
    case tracingData = 1, buildID = 2, hostname = 3, osRelease = 4, version = 5, arch = 6, nrCPUs = 7, cpuDesc = 8
    case cpuID = 9, totalMem = 10, cmdline = 11, eventDesc = 12, cpuTopology = 13, numaTopology = 14
    case branchStack = 15, pmuMappings = 16, groupDesc = 17, auxtrace = 18, stat = 19, cache = 20, sampleTime = 21
    case memTopology = 22, clockID = 23, dirFormat = 24, bpfProgInfo = 25, bpfBTF = 26, compressed = 27
    case cpuPMUCaps = 28, clockData = 29, hybridTopology = 30, pmuCaps = 31
}

/// What went wrong reading a perf.data file.
public enum PerfDataError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case notPerfData(reason: String)
    case unsupported(String)
    case corrupt(String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): return "cannot open \(path): \(reason)"
        case .notPerfData(let reason): return "not a perf.data file: \(reason)"
        case .unsupported(let what): return "unsupported perf.data: \(what)"
        case .corrupt(let what): return "corrupt perf.data: \(what)"
        }
    }
}
