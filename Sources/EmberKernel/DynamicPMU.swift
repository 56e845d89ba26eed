/// A PMU the kernel registers at boot with a dynamic type (`uprobe`, `kprobe`), described in
/// `/sys/bus/event_source/devices/NAME`: its `type` and the `config` bit fields of its `format/` files.
public struct DynamicPMU: Equatable, Sendable {
    public var name: String
    public var type: EventType
    /// `format/retprobe` (`config:0`): the bit that makes a return probe.
    public var retprobeBit: Int
    /// `format/ref_ctr_offset` (`config:32-63`): where a USDT semaphore's file offset goes; uprobe only.
    public var refCtrShift: Int?

    public init(name: String, type: EventType, retprobeBit: Int, refCtrShift: Int?) {
        self.name = name
        self.type = type
        self.retprobeBit = retprobeBit
        self.refCtrShift = refCtrShift
    }

    /// Reads the PMU from sysfs; nil when the kernel has none of that name.
    public static func named(_ name: String) -> DynamicPMU? {
        let dir = "/sys/bus/event_source/devices/\(name)"
        guard let type = readSmallFile(dir + "/type").flatMap({ UInt32($0.trimmed) }) else { return nil }
        let retprobe = readSmallFile(dir + "/format/retprobe").flatMap(firstBit) ?? 0
        let refCtr = readSmallFile(dir + "/format/ref_ctr_offset").flatMap(firstBit)
        return DynamicPMU(name: name, type: EventType(rawValue: type), retprobeBit: retprobe, refCtrShift: refCtr)
    }

    /// `config:32-63` → 32.
    static func firstBit(_ format: String) -> Int? {
        let field = format.trimmed
        guard field.hasPrefix("config:") else { return nil }
        return Int(field.dropFirst("config:".count).prefix { $0 != "-" })
    }

    /// The `config` of a probe: the return-probe bit and, for uprobes, the semaphore's offset.
    public func config(retprobe: Bool, refCtrOffset: UInt64 = 0) -> UInt64 {
        var config: UInt64 = retprobe ? 1 << UInt64(retprobeBit) : 0
        if let shift = refCtrShift { config |= refCtrOffset << UInt64(shift) }
        return config
    }
}
