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
