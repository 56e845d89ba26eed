import EmberKernel

/// Names for events whose file carries no HEADER_EVENT_DESC, the way perf invents them.
enum EventNames {
    static func name(for attr: EventAttr) -> String {
        if let known = EventSpec.known.first(where: { $0.type == attr.type && $0.config == attr.config }) {
            return known.name
        }
        switch attr.type {
        case .tracepoint: return "tracepoint:\(attr.config)"
        case .raw: return "r" + String(attr.config, radix: 16)
        default: return "event:\(attr.type.rawValue):\(attr.config)"
        }
    }
}
