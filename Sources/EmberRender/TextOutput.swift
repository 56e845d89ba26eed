import EmberKernel
#if canImport(Glibc)
import Glibc
#endif

/// Buffered byte output to a file descriptor with the formatters `perf script`-style text needs (hex, padded
/// decimals), none of which allocate.
public final class TextOutput {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private let capacity = 1 << 18
    /// Why writing failed, once it has; later output is discarded.
    public private(set) var error: Errno?

    public init(fd: Int32) {
        self.fd = fd
        buffer.reserveCapacity(capacity)
    }

    deinit { flush() }

    @inline(__always)
    public func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= capacity { flush() }
    }

    @inline(__always)
    public func byte(_ b: UInt8) { buffer.append(b) }

    public func spaces(_ n: Int) {
        for _ in 0..<max(0, n) { buffer.append(0x20) }
    }

    /// Lower-case hex without prefix, right-aligned in `width`.
    public func hex(_ value: UInt64, width: Int = 0) {
        var digits: (UInt64, UInt64) = (0, 0)
        var n = 0
        var v = value
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                let nibble = UInt8(v & 0xf)
                d[15 - n] = nibble < 10 ? 0x30 + nibble : 0x57 + nibble
                v >>= 4
                n += 1
            } while v != 0
            spaces(width - n)
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: d[(16 - n)...]))
        }
    }

    /// Decimal, right-aligned in `width` (or left-aligned when `left`), zero-padded when `zeros`.
    public func decimal(_ value: UInt64, width: Int = 0, left: Bool = false, zeros: Bool = false) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var n = 0
        var v = value
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[23 - n] = 0x30 + UInt8(v % 10)
                v /= 10
                n += 1
            } while v != 0
            if !left {
                for _ in 0..<max(0, width - n) { buffer.append(zeros ? 0x30 : 0x20) }
            }
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: d[(24 - n)...]))
            if left { spaces(width - n) }
        }
    }

    public func decimal(_ value: Int32, width: Int = 0, left: Bool = false) {
        if value < 0 {
            let text = String(value)
            if !left { spaces(width - text.utf8.count) }
            write(text)
            if left { spaces(width - text.utf8.count) }
        } else {
            decimal(UInt64(value), width: width, left: left)
        }
    }

    public func flush() {
        var done = 0
        while done < buffer.count && error == nil {
            let n = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                error = Errno.current
                break
            }
            done += n
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
