import CBPF
import EmberKernel

/// The consumer side of a `BPF_MAP_TYPE_RINGBUF` map (libbpf's `ring_buffer`): `consume()` hands every record
/// the programs have submitted so far to `handler`, in order, without waiting. The record's bytes are valid only
/// during the call.
public final class BPFRingBuffer {
    private final class Handler {
        let body: (UnsafeRawBufferPointer) -> Void
        init(_ body: @escaping (UnsafeRawBufferPointer) -> Void) { self.body = body }
    }

    private let ring: OpaquePointer
    private let handler: Unmanaged<Handler>

    public init(_ map: BPFMap, handler body: @escaping (UnsafeRawBufferPointer) -> Void) throws {
        handler = Unmanaged.passRetained(Handler(body))
        let callback: ring_buffer_sample_fn = { context, data, size in
            guard let context, let data else { return 0 }
            Unmanaged<Handler>.fromOpaque(context).takeUnretainedValue().body(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        }
        guard let ring = ring_buffer__new(map.fd, callback, handler.toOpaque(), nil) else {
            handler.release()
            throw BPFError.ringBuffer(map: map.name, Errno.current)
        }
        self.ring = ring
    }

    deinit {
        ring_buffer__free(ring)
        handler.release()
    }

    /// Hands on every record submitted so far; the number handed on.
    @discardableResult
    public func consume() -> Int {
        Int(max(ring_buffer__consume(ring), 0))
    }
}
