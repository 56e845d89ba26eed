import EmberKernel
import EmberPerfData
#if canImport(Glibc)
import Glibc
#endif

/// What a recording's header and feature sections say, as `perf report --header` prints it: one `# key : value`
/// line each, between `# ========` rules.
public enum HeaderWriter {
    public static func render(_ file: PerfDataFile) -> String {
        var lines = ["# ========"]
        var seconds = time_t(file.modificationTime / 1_000_000_000)
        var t = tm()
        var buffer = [CChar](repeating: 0, count: 64)
        if localtime_r(&seconds, &t) != nil, strftime(&buffer, buffer.count, "%a %b %e %H:%M:%S %Y", &t) > 0 {
            lines.append("# captured on    : \(String(cString: buffer))")
        }
        lines.append("# header version : 1")
        lines.append("# data offset    : \(file.header.data.offset)")
        lines.append("# data size      : \(file.header.data.size)")
        let strings: [(Feature, String)] = [(.hostname, "hostname"), (.osRelease, "os release"), (.version, "perf version"),
                                            (.arch, "arch")]
        for (feature, key) in strings {
            if let value = file.string(feature) { lines.append("# \(key) : \(value)") }
        }
        if let cpus = file.cpuCount {
            lines.append("# nrcpus online : \(cpus.online)")
            lines.append("# nrcpus avail : \(cpus.available)")
        }
        if let description = file.string(.cpuDesc) { lines.append("# cpudesc : \(description)") }
        if let kb = file.totalMemoryKB { lines.append("# total memory : \(kb) kB") }
        if let command = file.commandLine { lines.append("# cmdline : \(command.joined(separator: " "))") }
        for event in file.events {
            let ids = event.ids.map(String.init).joined(separator: ", ")
            let rate = event.attr.flags.contains(.freq) ? "sample_freq" : "sample_period"
            lines.append("# event : name = \(event.name), , id = { \(ids) }, type = \(event.attr.type.rawValue), config = 0x\(String(event.attr.config, radix: 16)), \(rate) = \(event.attr.samplePeriodOrFrequency)")
        }
        let buildIDs = file.buildIDs
        if !buildIDs.isEmpty { lines.append("# build-ids : \(buildIDs.count) binaries") }
        lines.append("# ========")
        lines.append("#")
        return lines.joined(separator: "\n") + "\n"
    }
}
