import EmberKernel

/// The parts of a perf.data file (`header | id arrays | attrs | event names | data | feature table | features`),
/// laid out once for the writer and for the reader's rebuilt images of pipe streams and compressed recordings.
enum PerfDataLayout {
    /// The header (data size 0), the id arrays, the attr entries, Ember's `EventNamesBlock` and, with a `target`,
    /// its `TargetBlock`; the data starts right after these bytes (`header.data.offset`).
    static func start(events: [EventDescription], target: [Int32] = []) -> (header: FileHeader, bytes: [UInt8]) {
        var offset = UInt64(FileHeader.size)
        var ids = ByteWriter()
        var idSections: [(UInt64, UInt64)] = []
        for e in events {
            idSections.append((offset + UInt64(ids.count), UInt64(e.ids.count * 8)))
            for id in e.ids { ids.u64(id) }
        }
        offset += UInt64(ids.count)
        var attrs = ByteWriter()
        for (e, (o, s)) in zip(events, idSections) {
            attrs.raw(e.attr.encoded())
            attrs.u64(o)
            attrs.u64(s)
        }
        let names = EventNamesBlock.encode(eventDescription(events)) + TargetBlock.encode(target)
        let header = FileHeader(attrEntrySize: UInt64(EventAttr.encodedSize + 16),
                                attrs: FileHeader.Section(offset: offset, size: UInt64(attrs.count)),
                                data: FileHeader.Section(offset: offset + UInt64(attrs.count + names.count), size: 0))
        return (header, header.encoded() + ids.bytes + attrs.bytes + names)
    }

    /// The feature table and payloads (ascending by feature) to place at `offset`, right after the data; sets the
    /// features' bits in `header`. `trailing`: a section above all of `features` whose payload of that size the
    /// caller writes right after these bytes.
    static func features(_ features: [(Feature, [UInt8])], at offset: UInt64, header: inout FileHeader,
                         trailing: (Feature, UInt64)? = nil) -> [UInt8] {
        let sorted = features.sorted { $0.0.rawValue < $1.0.rawValue }
        precondition(trailing.map { t in sorted.allSatisfy { $0.0.rawValue < t.0.rawValue } } ?? true)
        var table = ByteWriter()
        var payloads = ByteWriter()
        var payloadOffset = offset + UInt64(16 * (sorted.count + (trailing == nil ? 0 : 1)))
        for (feature, bytes) in sorted {
            header.setFeature(feature.rawValue)
            table.u64(payloadOffset)
            table.u64(UInt64(bytes.count))
            payloads.raw(bytes)
            payloadOffset += UInt64(bytes.count)
        }
        if let (feature, size) = trailing {
            header.setFeature(feature.rawValue)
            table.u64(payloadOffset)
            table.u64(size)
        }
        return table.bytes + payloads.bytes
    }

    /// A whole file image: what a reader maps when the input needed rebuilding.
    static func image(events: [EventDescription], data: [UInt8], features: [(Feature, [UInt8])]) -> [UInt8] {
        var (header, bytes) = start(events: events)
        header.data.size = UInt64(data.count)
        let tail = PerfDataLayout.features(features, at: header.data.offset + header.data.size, header: &header)
        bytes.replaceSubrange(0..<FileHeader.size, with: header.encoded())
        return bytes + data + tail
    }

    /// The HEADER_EVENT_DESC payload for `events`.
    static func eventDescription(_ events: [EventDescription]) -> [UInt8] {
        var w = ByteWriter()
        w.u32(UInt32(events.count))
        w.u32(UInt32(EventAttr.encodedSize))
        for e in events {
            w.raw(e.attr.encoded())
            w.u32(UInt32(e.ids.count))
            w.perfString(e.name)
            for id in e.ids { w.u64(id) }
        }
        return w.bytes
    }
}
