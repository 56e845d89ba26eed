#if canImport(Glibc)
import Glibc
#endif

/// An errno value with its C name and text, for messages that carry their evidence.
public struct Errno: Error, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's errno.
    @inline(never)
    public static var current: Errno { Errno(errno) }

    public var description: String { String(cString: strerror(rawValue)) }

}

/// Runs a syscall-style body until it stops failing with EINTR; returns its result or throws its errno.
@inline(__always)
public func retryingOnInterrupt<T: BinaryInteger>(_ body: () -> T) throws -> T {
    while true {
        let r = body()
        if r >= 0 { return r }
        let e = errno
        if e == EINTR { continue }
        throw Errno(e)
    }
}
