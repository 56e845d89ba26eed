/// PERF_RECORD_MMAP and PERF_RECORD_MMAP2: a file (or anonymous region) mapped into a process.
public struct MmapRecord: Equatable, Sendable {
    public var pid: Int32
    public var tid: Int32
    public var start: UInt64
    public var length: UInt64
    public var pageOffset: UInt64
    /// `PROT_*` bits; MMAP (version 1) records are only written for executable mappings, so they read as `PROT_EXEC`.
    public var protection: UInt32
    public var flags: UInt32
    public var device: (major: UInt32, minor: UInt32)?
    public var inode: UInt64
    /// The build-id the kernel attached (`PERF_RECORD_MISC_MMAP_BUILD_ID`).
    public var buildID: [UInt8]?
    public var filename: String
    public var cpuMode: CPUMode

    public static func == (a: MmapRecord, b: MmapRecord) -> Bool {
        a.pid == b.pid && a.tid == b.tid && a.start == b.start && a.length == b.length && a.pageOffset == b.pageOffset
            && a.protection == b.protection && a.flags == b.flags && a.device?.major == b.device?.major
            && a.device?.minor == b.device?.minor && a.inode == b.inode && a.buildID == b.buildID
            && a.filename == b.filename && a.cpuMode == b.cpuMode
    }

    public var isExecutable: Bool { protection & 4 != 0 }

    public init(pid: Int32, tid: Int32, start: UInt64, length: UInt64, pageOffset: UInt64, protection: UInt32,
                flags: UInt32, device: (major: UInt32, minor: UInt32)?, inode: UInt64, filename: String,
                cpuMode: CPUMode = .user) {
        self.pid = pid
        self.tid = tid
        self.start = start
        self.length = length
        self.pageOffset = pageOffset
        self.protection = protection
        self.flags = flags
        self.device = device
        self.inode = inode
        self.buildID = nil
        self.filename = filename
        self.cpuMode = cpuMode
    }

    /// Parses an MMAP (type 1) or MMAP2 (type 10) record.
    public init?(record r: UnsafeRawBufferPointer, type: RecordType) {
        guard let misc = r.u16(4), let pid = r.u32(8), let tid = r.u32(12), let start = r.u64(16),
              let length = r.u64(24), let pgoff = r.u64(32) else { return nil }
        self.pid = Int32(bitPattern: pid)
        self.tid = Int32(bitPattern: tid)
        self.start = start
        self.length = length
        self.pageOffset = pgoff
        self.cpuMode = CPUMode(misc: misc)
        if type == .mmap2 {
            guard let prot = r.u32(64), let flags = r.u32(68) else { return nil }
            protection = prot
            self.flags = flags
            if misc & RecordMisc.mmapBuildID != 0 {
                let size = Int(r.u16(40).map { $0 & 0xff } ?? 0)
                buildID = r.slice(44, min(size, 20)).map { Array($0) }
                device = nil
                inode = 0
            } else {
                guard let maj = r.u32(40), let min = r.u32(44), let ino = r.u64(48) else { return nil }
                device = (maj, min)
                inode = ino
                buildID = nil
            }
            filename = r.cString(72)
        } else {
            protection = 4
            flags = 0
            device = nil
            inode = 0
            buildID = nil
            filename = r.cString(40)
        }
    }
}
