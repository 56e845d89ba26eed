/// A record handed out by `PerfDataFile.forEachRecord`; its bytes live as long as the file object.
public struct RecordRef {
    public var type: RecordType
    public var misc: UInt16
    public var bytes: UnsafeRawBufferPointer
    /// Index into `PerfDataFile.events` of the event that wrote it.
    public var eventIndex: Int
    public var time: UInt64
}
