import EmberPerfData
import EmberSession
import EmberSymbols

/// How a DWARF unwind of a user stack ended.
public enum UnwindEnd: Sendable {
    /// The outermost frame said it has no caller.
    case complete
    /// The walk stopped early: no CFI, a read past the stack copy, no progress, or the depth limit.
    case truncated
}

/// Makes the unwinder of a reading, for its process model and symbolizer. Readers take it injected, so that only a
/// program that asks for libunwind (`--unwinder libunwind`, EmberLibunwind) links it.
public struct UnwinderFactory: Sendable {
    /// As `--unwinder` names it.
    public var name: String
    public var make: @Sendable (ProcessModel, Symbolizer) -> StackUnwinder

    public init(name: String, make: @escaping @Sendable (ProcessModel, Symbolizer) -> StackUnwinder) {
        self.name = name
        self.make = make
    }

    /// Ember's own: libdw's CFI with Ember's stepping, each PC's rule cached.
    public static let ember = UnwinderFactory(name: "ember") { Unwinder(model: $0, symbolizer: $1) }
}

/// A frame's address as the stack gave it (framehop's `FrameAddress`): the exact address of the instruction that
/// was running (the sample's IP, or a frame a signal interrupted), or a return address, which points after its
/// call. The one place that knows a return address is looked up one byte back.
public enum FrameAddress: Hashable, Sendable {
    case instruction(UInt64)
    case returnAddress(UInt64)

    @inline(__always)
    public init(_ address: UInt64, exact: Bool) {
        self = exact ? .instruction(address) : .returnAddress(address)
    }

    /// The address as the stack holds it.
    @inline(__always)
    public var address: UInt64 {
        switch self {
        case .instruction(let a), .returnAddress(let a): return a
        }
    }

    @inline(__always)
    public var isReturnAddress: Bool {
        if case .returnAddress = self { return true }
        return false
    }

    /// Where the frame's code is: for a return address, the byte before it, inside the call (a call can be the last
    /// instruction of a function, whose next byte begins another).
    @inline(__always)
    public var lookupAddress: UInt64 {
        switch self {
        case .instruction(let a): return a
        case .returnAddress(let a): return a > 0 ? a - 1 : 0
        }
    }
}

/// How the last walk used its sample's stack tail (`Sample.stackTail`).
public enum StackTailUse: Equatable, Sendable {
    /// It had none, or did not reach the end of the copy.
    case none
    /// The frames it appended from this index on came from the tail.
    case used(from: Int)
    /// The tail disagreed with the copy, or its first frame did not validate: the walk ended at the copy.
    case refused
}

/// Walks a sample's user stack from its registers and stack copy.
public protocol StackUnwinder: AnyObject {
    /// Appends the sample's user frames to `frames`, innermost first. Returns how the walk ended, or nil when the
    /// sample carries no 64-bit user registers or stack.
    func unwind(_ sample: Sample, into frames: inout [FrameAddress]) -> UnwindEnd?
    /// What the last `unwind` did with the sample's stack tail.
    var tailUse: StackTailUse { get }
}

extension StackUnwinder {
    /// An unwinder that reads the copy alone.
    public var tailUse: StackTailUse { .none }
}
