/// PERF_RECORD_LOST: `lost` records of event `id` were dropped because the ring buffer was full.
public struct LostRecord: Equatable, Sendable {
    public var id: UInt64
    public var lost: UInt64

    public init?(record r: UnsafeRawBufferPointer) {
        guard let id = r.u64(8), let lost = r.u64(16) else { return nil }
        self.id = id
        self.lost = lost
    }
}
