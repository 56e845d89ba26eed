import EmberPerfData

/// How a DWARF unwind of a user stack ended.
public enum UnwindEnd: Sendable {
    /// The outermost frame said it has no caller.
    case complete
    /// The walk stopped early: no CFI, a read past the stack copy, no progress, or the depth limit.
    case truncated
}

/// Which unwinder walks `--call-graph dwarf` stacks (`--unwinder`).
public enum UnwinderKind: String, CaseIterable, Sendable {
    /// Ember's own: libdw's CFI with Ember's stepping, each PC's rule cached.
    case ember
    /// libunwind's remote unwinder, as perf uses it.
    case libunwind
}

/// Walks a sample's user stack from its registers and stack copy.
public protocol StackUnwinder: AnyObject {
    /// Appends the sample's user frames to `frames`, innermost first, and to `exact` whether each is an exact PC
    /// (the IP, and the frame interrupted by a signal) rather than a return address. Returns how the walk ended,
    /// or nil when the sample carries no 64-bit user registers or stack.
    func unwind(_ sample: Sample, into frames: inout [UInt64], exact: inout [Bool]) -> UnwindEnd?
}
