import EmberKernel

/// One event of a recording: its attr, the kernel ids its records carry, and its name.
public struct EventDescription: Sendable {
    public var attr: EventAttr
    public var ids: [UInt64]
    public var name: String
    public var layout: SampleLayout

    public init(attr: EventAttr, ids: [UInt64], name: String) {
        self.attr = attr
        self.ids = ids
        self.name = name
        layout = SampleLayout(attr: attr)
    }
}
