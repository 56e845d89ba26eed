/// HEADER_TRACING_DATA (tools/perf/util/trace-event-info.c, version 0.6): the tracefs headers and the formats of
/// the tracepoints a recording uses. perf needs it to read a file with tracepoints; Ember reads the formats back to
/// decode RAW payloads without tracefs.
public enum TracingData {
    public struct System {
        public var name: String
        public var formats: [String]
        public init(name: String, formats: [String]) {
            self.name = name
            self.formats = formats
        }
    }

    /// What a reader takes from the section: the formats by id, and the kernel's constant strings by address (its
    /// `printk_formats`, which `%s` arguments such as rcu_utilization's point into).
    public struct Contents {
        public var formats: [UInt64: TracepointFormat] = [:]
        public var kernelStrings: [UInt64: String] = [:]

        public init() {}
    }

    public static func encode(headerPage: String, headerEvent: String, systems: [System], printkFormats: String = "", pageSize: Int) -> [UInt8] {
        var w = ByteWriter()
        w.raw([0x17, 0x08, 0x44])
        w.raw(Array("tracing".utf8))
        w.raw(Array("0.6".utf8) + [0])
        w.u8(0)  // little-endian
        w.u8(8)  // sizeof(long)
        w.u32(UInt32(pageSize))
        w.raw(Array("header_page".utf8) + [0])
        w.u64(UInt64(headerPage.utf8.count))
        w.raw(Array(headerPage.utf8))
        w.raw(Array("header_event".utf8) + [0])
        w.u64(UInt64(headerEvent.utf8.count))
        w.raw(Array(headerEvent.utf8))
        w.u32(0)  // ftrace formats
        w.u32(UInt32(systems.count))
        for system in systems {
            w.raw(Array(system.name.utf8) + [0])
            w.u32(UInt32(system.formats.count))
            for format in system.formats {
                w.u64(UInt64(format.utf8.count))
                w.raw(Array(format.utf8))
            }
        }
        w.u32(0)  // kallsyms
        w.u32(UInt32(printkFormats.utf8.count))
        w.raw(Array(printkFormats.utf8))
        w.u64(0)  // saved cmdlines
        return w.bytes
    }

    /// The tracepoint formats in a HEADER_TRACING_DATA section, by id; empty when it cannot be read.
    public static func formats(in b: UnsafeRawBufferPointer) -> [UInt64: TracepointFormat] {
        read(b).formats
    }

    /// What the section holds; as much as could be read of it.
    public static func read(_ b: UnsafeRawBufferPointer) -> Contents {
        var contents = Contents()
        var o = 3 + 7
        guard b.count > 20, b[0] == 0x17, b[1] == 0x08, b[2] == 0x44 else { return contents }
        func cString() -> String? {
            guard o < b.count, let end = b[o...].firstIndex(of: 0) else { return nil }
            defer { o = end + 1 }
            return String(decoding: b[o..<end], as: UTF8.self)
        }
        guard cString() != nil, o + 6 <= b.count, b[o] == 0 else { return contents }  // version; little-endian only
        o += 6
        for _ in 0..<2 {  // header_page, header_event
            guard cString() != nil, let length = b.u64(o), length <= UInt64(b.count - o - 8) else { return contents }
            o += 8 + Int(length)
        }
        guard let ftraceCount = b.u32(o) else { return contents }
        o += 4
        for _ in 0..<min(ftraceCount, 10_000) {
            guard let length = b.u64(o), length <= UInt64(b.count - o - 8) else { return contents }
            o += 8 + Int(length)
        }
        guard let systemCount = b.u32(o) else { return contents }
        o += 4
        for _ in 0..<min(systemCount, 10_000) {
            guard let system = cString(), let count = b.u32(o) else { break }
            o += 4
            for _ in 0..<min(count, 100_000) {
                guard let length = b.u64(o), length <= UInt64(b.count - o - 8) else { return contents }
                let text = String(decoding: b[(o + 8)..<(o + 8 + Int(length))], as: UTF8.self)
                o += 8 + Int(length)
                if let format = TracepointFormat(text: text, system: system) { contents.formats[format.id] = format }
            }
        }
        guard let kallsyms = b.u32(o), kallsyms <= UInt32(b.count - o - 4) else { return contents }  // perf writes none
        o += 4 + Int(kallsyms)
        guard let length = b.u32(o), length <= UInt32(b.count - o - 4) else { return contents }
        // `0xffffffff8281972f : "thaw_processes"` lines.
        for line in String(decoding: b[(o + 4)..<(o + 4 + Int(length))], as: UTF8.self).split(separator: "\n") {
            guard let colon = line.firstRange(of: " : \""), line.hasPrefix("0x"), line.hasSuffix("\""),
                  let address = UInt64(line[line.index(line.startIndex, offsetBy: 2)..<colon.lowerBound], radix: 16) else { continue }
            contents.kernelStrings[address] = String(line[colon.upperBound...].dropLast())
        }
        return contents
    }
}
