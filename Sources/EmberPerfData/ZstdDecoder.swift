import CZstd

/// One zstd decompression stream for a whole recording: perf 6.1 compresses the records of a session with one
/// stream that each PERF_RECORD_COMPRESSED continues (only the first starts a frame); a stream also reads
/// records that are whole frames each.
final class ZstdDecoder {
    private let stream: OpaquePointer
    private var chunk = [UInt8](repeating: 0, count: 1 << 17)

    init() throws {
        guard let s = ZSTD_createDStream() else { throw PerfDataError.corrupt("cannot create a zstd decompression stream") }
        stream = s
        ZSTD_initDStream(stream)
    }

    deinit { ZSTD_freeDStream(stream) }

    /// Decompresses all of `input`, appending what comes out to `output`; `limit` caps the total size (a bomb
    /// in a corrupt file must not take all memory).
    func decompress(_ input: UnsafeRawBufferPointer, into output: inout [UInt8], limit: Int) throws {
        guard let base = input.baseAddress, input.count > 0 else { return }
        var inBuffer = ZSTD_inBuffer(src: base, size: input.count, pos: 0)
        let capacity = chunk.count
        while true {
            let (result, produced) = chunk.withUnsafeMutableBytes { out -> (Int, Int) in
                var outBuffer = ZSTD_outBuffer(dst: out.baseAddress, size: capacity, pos: 0)
                let r = ZSTD_decompressStream(stream, &outBuffer, &inBuffer)
                return (r, outBuffer.pos)
            }
            if ZSTD_isError(result) != 0 {
                throw PerfDataError.corrupt("a compressed record does not decompress: \(String(cString: ZSTD_getErrorName(result)))")
            }
            guard output.count + produced <= limit else {
                throw PerfDataError.corrupt("compressed records expand past \(limit >> 20) MiB")
            }
            output.append(contentsOf: chunk[0..<produced])
            // Done when the input is used up and the last call did not fill the output (nothing is held back).
            if inBuffer.pos == inBuffer.size && produced < capacity { return }
        }
    }
}
