import EmberKernel
import EmberPerfData
import EmberSymbols
#if canImport(Glibc)
import Glibc
#endif

/// The perf.data files of a recording — the file of `record`, each `--switch-output` file and each snapshot — begun
/// and finished in one way.
extension RecordingSession {
    /// Writes the start of a file: header, attrs and names with the features known at the start, the kernel's
    /// mapping, then the records `describe` hands over (the processes the file holds samples of) and a round's end.
    func beginFile(_ writer: PerfDataWriter, events: SampleEvents, describe: (_ append: ([UInt8]) throws -> Void) throws -> Void) throws {
        try writer.begin(events: events.described, features: startFeatures(), target: recordedTarget)
        if let text = ProcScanner.kernelText() { try writer.append(events.encoder.kernelMmap(start: text.start, length: text.length)) }
        try describe { try writer.append($0) }
        try writer.appendFinishedRound()
    }

    /// Adds the features known only at the end (the events' names, the build-ids of what ran) and finishes the file.
    func finishFile(_ writer: PerfDataWriter) throws {
        try writer.finish(features: [(.eventDesc, writer.eventDescription()), (.buildID, FeatureEncoding.buildIDs(buildIDs()))])
    }

    /// The processes the file is for, which its readers report: the command (its tree), the `-p` processes; none
    /// for `-a`, which asked for the whole machine.
    private var recordedTarget: [Int32] {
        switch options.target {
        case .command: return workload.map { [$0.pid] } ?? []
        case .processes(let pids): return pids
        case .allCPUs: return []
        }
    }

    /// The feature sections known before recording: the machine, the command line, the tracepoints' formats.
    private func startFeatures() -> [(Feature, [UInt8])] {
        var features: [(Feature, [UInt8])] = []
        var u = utsname()
        uname(&u)
        func field<T>(_ v: T) -> String { withUnsafeBytes(of: v) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } }
        features.append((.hostname, FeatureEncoding.string(field(u.nodename))))
        features.append((.osRelease, FeatureEncoding.string(field(u.release))))
        features.append((.version, FeatureEncoding.string(EmberVersion.string)))
        features.append((.arch, FeatureEncoding.string(field(u.machine))))
        features.append((.nrCPUs, FeatureEncoding.cpuCount(available: UInt32(sysconf(Int32(_SC_NPROCESSORS_CONF))),
                                                           online: UInt32(OnlineCPUs.list().count))))
        if let desc = SystemInfo.cpuDescription { features.append((.cpuDesc, FeatureEncoding.string(desc))) }
        if let kb = SystemInfo.totalMemoryKB { features.append((.totalMem, FeatureEncoding.totalMemory(kilobytes: kb))) }
        features.append((.cmdline, FeatureEncoding.stringList(options.commandLine)))
        if !tracepoints.isEmpty {
            let systems = Dictionary(grouping: tracepoints, by: \.system).sorted { $0.key < $1.key }
                .map { TracingData.System(name: $0.key, formats: $0.value.map(\.format)) }
            let root = Tracefs.path + "/events/"
            features.append((.tracingData, TracingData.encode(headerPage: readSmallFile(root + "header_page") ?? "",
                                                              headerEvent: readSmallFile(root + "header_event") ?? "",
                                                              systems: systems,
                                                              printkFormats: readSmallFile(Tracefs.path + "/printk_formats") ?? "",
                                                              pageSize: RingBuffer.pageSize)))
        }
        return features
    }

    private func buildIDs() -> [BuildIDEntry] {
        var entries: [BuildIDEntry] = []
        if let kernel = KernelSymbols.runningBuildID {
            entries.append(BuildIDEntry(pid: -1, buildID: kernel, filename: "[kernel.kallsyms]", cpuMode: .kernel))
        }
        for path in executables.sorted() {
            if let id = ElfImage.buildID(ofFile: path) {
                entries.append(BuildIDEntry(pid: -1, buildID: id, filename: path, cpuMode: .user))
            }
        }
        return entries
    }

    /// `OUTPUT.<YYYYMMDDHHMMSSCC>` in local time, as perf names its switch-output files; never a name that is taken
    /// (the previous file's, within one hundredth of a second, or a file of someone else's).
    func nextFileName(after previous: String?) -> String {
        while true {
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            var t = tm()
            var seconds = now.tv_sec
            localtime_r(&seconds, &t)
            let stamp = "\(t.tm_year + 1900)" + [t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, Int32(now.tv_nsec / 10_000_000)]
                .map { RecordingSession.twoDigits(Int($0)) }.joined()
            let path = "\(options.output).\(stamp)"
            var st = stat()
            if path != previous, lstat(path, &st) != 0 { return path }
            usleep(5000)
        }
    }

    private static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}

/// Files Ember wrote and may delete again (`--switch-max-files`): each removed only while it is still that file.
struct WrittenFiles {
    private(set) var paths: [String] = []
    private var identities: [FileIdentity?] = []

    mutating func append(_ path: String, _ identity: FileIdentity?) {
        paths.append(path)
        identities.append(identity)
    }

    /// The newest file is finished: what it is now (its last change) is what a later removal checks.
    mutating func finishedLast(_ identity: FileIdentity?) {
        if !identities.isEmpty { identities[identities.count - 1] = identity }
    }

    /// Deletes the oldest until `keep` are left.
    mutating func deleteOldest(keeping keep: Int) {
        while paths.count > keep {
            let path = paths.removeFirst()
            if let identity = identities.removeFirst() { OutputFile.remove(path, ifStill: identity) }
        }
    }
}

/// A number with two decimals (`0.31`): seconds, and megabytes.
public func formatSeconds(_ s: Double) -> String {
    let hundredths = Int((s * 100).rounded())
    let frac = hundredths % 100
    return "\(hundredths / 100).\(frac < 10 ? "0" : "")\(frac)"
}
