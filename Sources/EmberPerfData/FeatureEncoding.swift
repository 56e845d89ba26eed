/// Payload encoders for the feature sections Ember writes (tools/perf/util/header.c `write_*`).
public enum FeatureEncoding {
    /// HOSTNAME, OSRELEASE, VERSION, ARCH, CPUDESC, CPUID.
    public static func string(_ text: String) -> [UInt8] {
        var w = ByteWriter()
        w.perfString(text)
        return w.bytes
    }

    /// CMDLINE: a u32 count and that many strings.
    public static func stringList(_ list: [String]) -> [UInt8] {
        var w = ByteWriter()
        w.u32(UInt32(list.count))
        for s in list { w.perfString(s) }
        return w.bytes
    }

    /// NRCPUS: `{nr_cpus_available, nr_cpus_online}`.
    public static func cpuCount(available: UInt32, online: UInt32) -> [UInt8] {
        var w = ByteWriter()
        w.u32(available)
        w.u32(online)
        return w.bytes
    }

    /// TOTAL_MEM, in kB.
    public static func totalMemory(kilobytes: UInt64) -> [UInt8] {
        var w = ByteWriter()
        w.u64(kilobytes)
        return w.bytes
    }

    /// BUILD_ID: one `perf_record_header_build_id` per binary, the filename padded to 64 bytes as perf does.
    public static func buildIDs(_ entries: [BuildIDEntry]) -> [UInt8] {
        var w = ByteWriter()
        for e in entries {
            let start = w.count
            w.u32(RecordType.buildID.rawValue)
            w.u16(e.cpuMode.rawValue | RecordMisc.buildIDSize)
            w.u16(0)
            w.i32(e.pid)
            let id = Array(e.buildID.prefix(20))
            w.raw(id + [UInt8](repeating: 0, count: 20 - id.count))
            w.u8(UInt8(id.count))
            w.raw([0, 0, 0])
            w.cString(e.filename, paddedTo: 1)
            while (w.count - start - 36) % 64 != 0 { w.u8(0) }
            w.patchU16(at: start + 6, UInt16(w.count - start))
        }
        return w.bytes
    }
}
