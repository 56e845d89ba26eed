import EmberKernel

/// perf's pipe format (`perf record -o -`): a 16-byte header, then records only. The attrs come as
/// HEADER_ATTR records (each with its ids), names as EVENT_UPDATE, features as HEADER_FEATURE, tracing data as a
/// HEADER_TRACING_DATA record whose payload follows it, build-ids as HEADER_BUILD_ID.
///
/// Writing: `PerfDataWriter` in pipe mode. Reading: `rebuild` turns a stream into an ordinary file image.
public enum PipeStream {
    static let headerSize = 16
    static let attrType: UInt32 = 64
    static let tracingDataType: UInt32 = 66
    static let eventUpdateType: UInt32 = 78
    static let featureType: UInt32 = 80
    /// EVENT_UPDATE's `type` for a name.
    static let eventUpdateName: UInt64 = 2

    /// Whether `bytes` starts with the pipe header (the PERFILE2 magic and a size of 16).
    static func isPipe(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.u64(0) == FileHeader.magic && bytes.u64(8) == UInt64(headerSize)
    }

    // MARK: Writing

    static func header() -> [UInt8] {
        var w = ByteWriter()
        w.u64(FileHeader.magic)
        w.u64(UInt64(headerSize))
        return w.bytes
    }

    /// HEADER_ATTR and EVENT_UPDATE (name) records for each event, then the features that are known before the
    /// recording: HEADER_FEATURE records, and tracing data as HEADER_TRACING_DATA with its payload padded to 8.
    static func start(events: [EventDescription], features: [(Feature, [UInt8])]) throws -> [UInt8] {
        var w = ByteWriter()
        for e in events {
            // A record's size is 16 bits: one HEADER_ATTR holds at most 8174 ids (threads x CPUs).
            guard 8 + EventAttr.encodedSize + 8 * e.ids.count <= Int(UInt16.max), e.name.utf8.count < 1024 else {
                throw PerfDataWriteError.tooManyIDs(event: e.name, count: e.ids.count)
            }
            w.u32(attrType); w.u16(0); w.u16(UInt16(8 + EventAttr.encodedSize + 8 * e.ids.count))
            w.raw(e.attr.encoded())
            for id in e.ids { w.u64(id) }
        }
        for e in events {
            var name = Array(e.name.utf8) + [0]
            while name.count % 8 != 0 { name.append(0) }
            w.u32(eventUpdateType); w.u16(0); w.u16(UInt16(24 + name.count))
            w.u64(eventUpdateName)
            w.u64(e.ids.first ?? 0)
            w.raw(name)
        }
        for (feature, payload) in features.sorted(by: { $0.0.rawValue < $1.0.rawValue }) {
            if feature == .tracingData {
                let padded = (payload.count + 7) / 8 * 8
                w.u32(tracingDataType); w.u16(0); w.u16(16)
                w.u32(UInt32(padded)); w.u32(0)
                w.raw(payload + [UInt8](repeating: 0, count: padded - payload.count))
            } else if 16 + payload.count <= Int(UInt16.max) {
                w.u32(featureType); w.u16(0); w.u16(UInt16(16 + payload.count))
                w.u64(UInt64(feature.rawValue))
                w.raw(payload)
            }
        }
        return w.bytes
    }

    // MARK: Reading

    /// The file image of a pipe stream: its attrs, names and features in their places, its records (compressed
    /// ones expanded) as the data. A stream cut short keeps every whole record, with a warning.
    static func rebuild(_ stream: UnsafeRawBufferPointer, warnings: inout [String]) throws -> [UInt8] {
        var events: [EventDescription] = []
        var names: [UInt64: String] = [:]
        var features: [Feature: [UInt8]] = [:]
        var buildIDs: [UInt8] = []
        var collector = DataCollector(inputSize: stream.count)
        var offset = headerSize
        while offset < stream.count {
            guard stream.count - offset >= 8 else {
                warnings.append("the stream ends inside a record header; reading what came before")
                break
            }
            let type = stream.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
            let size = Int(stream.loadUnaligned(fromByteOffset: offset + 6, as: UInt16.self))
            guard size >= 8 else {
                warnings.append("corrupt record at byte \(offset) of the stream; stopped reading there")
                break
            }
            guard size <= stream.count - offset else {
                warnings.append("the stream ends inside a record (it was cut short); reading what came before")
                break
            }
            let record = UnsafeRawBufferPointer(rebasing: stream[offset..<(offset + size)])
            var next = offset + size
            switch type {
            case attrType:
                guard size >= 8 + 64, let attrSize = record.u32(12), attrSize >= 64, Int(attrSize) <= size - 8,
                      let attr = try? EventAttr(decoding: UnsafeRawBufferPointer(rebasing: record[8..<(8 + Int(attrSize))])) else {
                    throw PerfDataError.corrupt("a HEADER_ATTR record at byte \(offset) of the stream is malformed")
                }
                let ids = stride(from: 8 + Int(attrSize), to: size - 7, by: 8).compactMap { record.u64($0) }
                events.append(EventDescription(attr: attr, ids: ids, name: EventNames.name(for: attr)))
            case eventUpdateType:
                if record.u64(8) == eventUpdateName, let id = record.u64(16), size > 24 { names[id] = record.cString(24) }
            case featureType:
                if let bit = record.u64(8), bit < 256, let feature = Feature(rawValue: Int(bit)) {
                    features[feature] = Array(record[16...])
                }
            case tracingDataType:
                let payload = Int(record.u32(8) ?? 0)
                guard payload <= stream.count - next else {
                    warnings.append("the stream ends inside its tracing data (it was cut short); reading what came before")
                    next = stream.count
                    break
                }
                features[.tracingData] = Array(stream[next..<(next + payload)])
                next += payload
            case RecordType.buildID.rawValue:
                buildIDs.append(contentsOf: record)
            case RecordType.auxtrace.rawValue:
                let payload = Int(clamping: record.u64(8) ?? UInt64.max)
                guard payload <= stream.count - next else {
                    warnings.append("an AUXTRACE payload runs past the end of the stream; stopped reading there")
                    next = stream.count
                    break
                }
                try collector.add(record)
                collector.addPayload(UnsafeRawBufferPointer(rebasing: stream[next..<(next + payload)]))
                next += payload
            case RecordType.finishedRound.rawValue, RecordType.compressed.rawValue, 0..<64:
                try collector.add(record)
            default:
                break  // ID_INDEX, THREAD_MAP, CPU_MAP, FINISHED_INIT and the like: nothing Ember needs.
            }
            offset = next
        }
        guard !events.isEmpty else { throw PerfDataError.corrupt("the pipe stream has no HEADER_ATTR record") }
        warnings += collector.warnings
        if !names.isEmpty {
            for i in events.indices {
                // perf matches by id, and a single event takes any id.
                let single = events.count == 1 ? names.values.first : nil
                if let name = events[i].ids.lazy.compactMap({ names[$0] }).first ?? single { events[i].name = name }
            }
            // EVENT_UPDATE names win, as in perf script; a HEADER_FEATURE EVENT_DESC would override them.
            features[.eventDesc] = nil
        }
        if !buildIDs.isEmpty { features[.buildID] = buildIDs }
        // The collector already expanded the compressed records.
        features[.compressed] = nil
        return PerfDataLayout.image(events: events, data: collector.data, features: features.map { ($0.key, $0.value) })
    }
}
