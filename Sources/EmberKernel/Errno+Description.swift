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

    /// `ENOENT`
    public static let noEntry = Errno(ENOENT)
    /// `EOPNOTSUPP`
    public static let notSupported = Errno(EOPNOTSUPP)
    /// `ENODEV`
    public static let noDevice = Errno(ENODEV)
    /// `EACCES`
    public static let permissionDenied = Errno(EACCES)
    /// `EPERM`
    public static let notPermitted = Errno(EPERM)
    /// `ESRCH`
    public static let noSuchProcess = Errno(ESRCH)
    /// `EINVAL`
    public static let invalidArgument = Errno(EINVAL)
    /// `EINTR`
    public static let interrupted = Errno(EINTR)
    /// `ENOMEM`
    public static let noMemory = Errno(ENOMEM)
    /// `EEXIST`
    public static let exists = Errno(EEXIST)
    /// `EIO`
    public static let io = Errno(EIO)
    /// `EPIPE`
    public static let brokenPipe = Errno(EPIPE)
}

/// Runs a syscall-style body (a negative result means failure, with `errno` set) and returns its result or throws
/// its errno; with `retryOnInterrupt`, a call that failed with EINTR is made again (swift-system's
/// `valueOrErrno(retryOnInterrupt:)`).
@inline(__always)
public func valueOrErrno<T: BinaryInteger>(retryOnInterrupt: Bool, _ body: () -> T) throws -> T {
    while true {
        let r = body()
        if r >= 0 { return r }
        let e = errno
        if e == EINTR, retryOnInterrupt { continue }
        throw Errno(e)
    }
}
