/// The data records of a recording gathered into one buffer, PERF_RECORD_COMPRESSED records expanded in place:
/// the data section of the image a reader maps for a pipe stream or a compressed recording.
struct DataCollector {
    private(set) var data: [UInt8] = []
    private var decoder: ZstdDecoder?
    /// Decompressed bytes that do not make a whole record yet: a record may span two COMPRESSED records.
    private var pending: [UInt8] = []
    /// Why compressed records stopped being read (a corrupt zstd stream), said once as a warning.
    private var failure: String?
    /// Decompressed data beyond this is refused: a corrupt or hostile file must not take all memory. Real
    /// recordings compress about 5:1.
    private let limit: Int

    init(inputSize: Int) {
        limit = min(8 << 30, max(1 << 30, inputSize.multipliedReportingOverflow(by: 32).partialValue))
    }

    /// Appends one record (its header and all of its bytes).
    mutating func add(_ record: UnsafeRawBufferPointer) throws {
        let type = RecordType(rawValue: record.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        guard type == .compressed else {
            data.append(contentsOf: record)
            return
        }
        guard failure == nil else { return }
        if decoder == nil { decoder = try ZstdDecoder() }
        do {
            try decoder!.decompress(UnsafeRawBufferPointer(rebasing: record[8...]), into: &pending, limit: limit - data.count)
        } catch {
            stop("\(error)")
            return
        }
        var used = 0
        while pending.count - used >= 8 {
            let size = Int(pending[used + 6]) | Int(pending[used + 7]) << 8
            guard size >= 8 else {
                stop("a compressed record holds a record of size \(size)")
                return
            }
            guard size <= pending.count - used else { break }
            data.append(contentsOf: pending[used..<(used + size)])
            used += size
        }
        pending.removeFirst(used)
    }

    /// Appends bytes that follow a record outside its size (an AUXTRACE payload).
    mutating func addPayload(_ bytes: UnsafeRawBufferPointer) {
        data.append(contentsOf: bytes)
    }

    /// Every later compressed record continues the same zstd stream: all of them are lost with this one.
    private mutating func stop(_ why: String) {
        failure = "\(why); the records it and the compressed records after it held are missing"
        pending.removeAll()
    }

    /// What was lost, to say once each: a corrupt zstd stream, decompressed bytes left without a whole record.
    var warnings: [String] {
        (failure.map { [$0] } ?? []) + (pending.isEmpty ? [] : ["the last compressed record ends inside a record; it was dropped"])
    }
}
