/// `struct perf_event_attr`, encoded by hand so that Ember does not depend on the uapi headers installed here
/// (6.1) and can state the exact bytes it hands the kernel and writes into perf.data.
///
/// Ember uses the VER7 size, 128 bytes: the kernel accepts it, and Debian's perf 6.1 rejects larger attrs in files.
public struct EventAttr: Equatable, Sendable {
    /// `PERF_ATTR_SIZE_VER7`.
    public static let encodedSize = 128

    public var type: EventType
    public var size: UInt32 = UInt32(EventAttr.encodedSize)
    public var config: UInt64 = 0
    /// `sample_period`, or `sample_freq` when `flags` contains `.freq`.
    public var samplePeriodOrFrequency: UInt64 = 0
    public var sampleType: SampleType = []
    public var readFormat: ReadFormat = []
    public var flags: AttrFlags = []
    /// `wakeup_events`, or `wakeup_watermark` (bytes) when `flags` contains `.watermark`.
    public var wakeup: UInt32 = 0
    public var bpType: UInt32 = 0
    /// `config1`; for probes a user pointer to a C string, only meaningful during the syscall.
    public var config1: UInt64 = 0
    public var config2: UInt64 = 0
    public var branchSampleType: UInt64 = 0
    public var sampleRegsUser: UInt64 = 0
    public var sampleStackUser: UInt32 = 0
    public var clockID: Int32 = 0
    public var sampleRegsIntr: UInt64 = 0
    public var auxWatermark: UInt32 = 0
    public var sampleMaxStack: UInt16 = 0
    public var auxSampleSize: UInt32 = 0
    public var sigData: UInt64 = 0

    public init(type: EventType, config: UInt64 = 0) {
        self.type = type
        self.config = config
    }

    /// The little-endian bytes of the attr, `encodedSize` long.
    public func encoded() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: EventAttr.encodedSize)
        out.withUnsafeMutableBytes { b in
            b.storeBytes(of: type.rawValue.littleEndian, toByteOffset: 0, as: UInt32.self)
            b.storeBytes(of: size.littleEndian, toByteOffset: 4, as: UInt32.self)
            b.storeBytes(of: config.littleEndian, toByteOffset: 8, as: UInt64.self)
            b.storeBytes(of: samplePeriodOrFrequency.littleEndian, toByteOffset: 16, as: UInt64.self)
            b.storeBytes(of: sampleType.rawValue.littleEndian, toByteOffset: 24, as: UInt64.self)
            b.storeBytes(of: readFormat.rawValue.littleEndian, toByteOffset: 32, as: UInt64.self)
            b.storeBytes(of: flags.rawValue.littleEndian, toByteOffset: 40, as: UInt64.self)
            b.storeBytes(of: wakeup.littleEndian, toByteOffset: 48, as: UInt32.self)
            b.storeBytes(of: bpType.littleEndian, toByteOffset: 52, as: UInt32.self)
            b.storeBytes(of: config1.littleEndian, toByteOffset: 56, as: UInt64.self)
            b.storeBytes(of: config2.littleEndian, toByteOffset: 64, as: UInt64.self)
            b.storeBytes(of: branchSampleType.littleEndian, toByteOffset: 72, as: UInt64.self)
            b.storeBytes(of: sampleRegsUser.littleEndian, toByteOffset: 80, as: UInt64.self)
            b.storeBytes(of: sampleStackUser.littleEndian, toByteOffset: 88, as: UInt32.self)
            b.storeBytes(of: clockID.littleEndian, toByteOffset: 92, as: Int32.self)
            b.storeBytes(of: sampleRegsIntr.littleEndian, toByteOffset: 96, as: UInt64.self)
            b.storeBytes(of: auxWatermark.littleEndian, toByteOffset: 104, as: UInt32.self)
            b.storeBytes(of: sampleMaxStack.littleEndian, toByteOffset: 108, as: UInt16.self)
            b.storeBytes(of: auxSampleSize.littleEndian, toByteOffset: 112, as: UInt32.self)
            b.storeBytes(of: sigData.littleEndian, toByteOffset: 120, as: UInt64.self)
        }
        return out
    }

    /// Decodes an attr of any size from 64 (VER0) up: fields beyond the bytes given stay zero, bytes past 128 are
    /// ignored.
    public init(decoding bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count >= 64 else { throw AttrDecodingError.tooShort(bytes.count) }
        func u64(_ o: Int) -> UInt64 { o + 8 <= bytes.count ? UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: o, as: UInt64.self)) : 0 }
        func u32(_ o: Int) -> UInt32 { o + 4 <= bytes.count ? UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: o, as: UInt32.self)) : 0 }
        self.init(type: EventType(rawValue: u32(0)), config: u64(8))
        size = u32(4)
        samplePeriodOrFrequency = u64(16)
        sampleType = SampleType(rawValue: u64(24))
        readFormat = ReadFormat(rawValue: u64(32))
        flags = AttrFlags(rawValue: u64(40))
        wakeup = u32(48)
        bpType = u32(52)
        config1 = u64(56)
        config2 = u64(64)
        branchSampleType = u64(72)
        sampleRegsUser = u64(80)
        sampleStackUser = u32(88)
        clockID = Int32(bitPattern: u32(92))
        sampleRegsIntr = u64(96)
        auxWatermark = u32(104)
        sampleMaxStack = UInt16(truncatingIfNeeded: u32(108))
        auxSampleSize = u32(112)
        sigData = u64(120)
    }
}

public enum AttrDecodingError: Error, Equatable {
    case tooShort(Int)
}
