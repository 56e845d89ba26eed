import EmberKernel

/// Where an event's records keep their fields, computed once per attr from `sample_type` and friends.
public struct SampleLayout: Sendable {
    public let sampleType: SampleType
    public let readFormat: ReadFormat
    public let branchSampleType: UInt64
    public let regsUserMask: UInt64
    /// `sample_regs_intr`: the registers at the interrupt (a kprobe's: the probed function's arguments).
    public let regsIntrMask: UInt64
    public let sampleIDAll: Bool
    /// DWARF call graphs (`--call-graph dwarf`, perf's and Ember's): the user stack copy is there to be unwound, and
    /// the kernel left the user part out of the call chain.
    public let unwindsUserStack: Bool
    /// Byte offset of the time in a SAMPLE record, when it has one.
    public let sampleTimeOffset: Int?
    /// Byte offset of the id (`IDENTIFIER`, else `ID`) in a SAMPLE record.
    public let sampleIDOffset: Int?
    /// Bytes of the `sample_id` trailer of non-sample records (0 without `sample_id_all`).
    public let trailerSize: Int
    /// Offset of the time within the trailer, counted back from the record's end.
    public let trailerTimeFromEnd: Int?
    /// Offset of the id within the trailer, counted back from the record's end.
    public let trailerIDFromEnd: Int?
    /// Offset of the {pid, tid} pair within the trailer, counted back from the record's end.
    public let trailerTIDFromEnd: Int?

    public init(attr: EventAttr) {
        let t = attr.sampleType
        sampleType = t
        readFormat = attr.readFormat
        branchSampleType = attr.branchSampleType
        regsUserMask = attr.sampleRegsUser
        regsIntrMask = attr.sampleRegsIntr
        sampleIDAll = attr.flags.contains(.sampleIDAll)
        unwindsUserStack = t.contains(.stackUser) && t.contains(.regsUser) && attr.flags.contains(.excludeCallchainUser)

        var offset = 8
        if t.contains(.identifier) { offset += 8 }
        if t.contains(.ip) { offset += 8 }
        if t.contains(.tid) { offset += 8 }
        sampleTimeOffset = t.contains(.time) ? offset : nil
        if t.contains(.identifier) {
            sampleIDOffset = 8
        } else if t.contains(.id) {
            if t.contains(.time) { offset += 8 }
            if t.contains(.addr) { offset += 8 }
            sampleIDOffset = offset
        } else {
            sampleIDOffset = nil
        }

        // The trailer holds, in order: {pid,tid}, time, id, stream_id, {cpu,res}, identifier.
        var fields: [(SampleType, Int)] = []
        for bit in [SampleType.tid, .time, .id, .streamID, .cpu, .identifier] where t.contains(bit) {
            fields.append((bit, 8))
        }
        let size = sampleIDAll ? fields.reduce(0) { $0 + $1.1 } : 0
        trailerSize = size
        let all = sampleIDAll
        func fromEnd(_ bit: SampleType) -> Int? {
            guard all, t.contains(bit) else { return nil }
            var at = 0
            for (b, s) in fields {
                if b == bit { return size - at }
                at += s
            }
            return nil
        }
        trailerTimeFromEnd = fromEnd(.time)
        trailerIDFromEnd = t.contains(.identifier) ? fromEnd(.identifier) : fromEnd(.id)
        trailerTIDFromEnd = fromEnd(.tid)
    }

    /// The time of any record, when its layout carries one.
    @inline(__always)
    public func time(of record: UnsafeRawBufferPointer, type: RecordType) -> UInt64? {
        if type == .sample {
            guard let o = sampleTimeOffset else { return nil }
            return record.u64(o)
        }
        guard type.rawValue < 64, let back = trailerTimeFromEnd else { return nil }
        return record.u64(record.count - back)
    }

    /// The event id of any record, when its layout carries one.
    @inline(__always)
    public func id(of record: UnsafeRawBufferPointer, type: RecordType) -> UInt64? {
        if type == .sample {
            guard let o = sampleIDOffset else { return nil }
            return record.u64(o)
        }
        guard type.rawValue < 64, let back = trailerIDFromEnd else { return nil }
        return record.u64(record.count - back)
    }

    /// The size of a `read_format` block in a sample, for a group of `nr` members.
    func readSize(in record: UnsafeRawBufferPointer, at offset: Int) -> Int? {
        let timeEnabled = readFormat.contains(.totalTimeEnabled), timeRunning = readFormat.contains(.totalTimeRunning)
        let hasID = readFormat.contains(.id), group = readFormat.contains(.group), lost = readFormat.contains(.lost)
        let perValue = 8 + (hasID ? 8 : 0) + (lost ? 8 : 0)
        let times = (timeEnabled ? 8 : 0) + (timeRunning ? 8 : 0)
        if group {
            guard let nr = record.u64(offset), nr < 4096 else { return nil }
            return 8 + times + Int(nr) * perValue
        }
        return perValue + times
    }
}
