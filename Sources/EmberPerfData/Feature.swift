/// Feature section numbers (`HEADER_*` in tools/perf/util/header.h).
public enum Feature: Int, CaseIterable, Sendable {
    case tracingData = 1, buildID = 2, hostname = 3, osRelease = 4, version = 5, arch = 6, nrCPUs = 7, cpuDesc = 8
    case cpuID = 9, totalMem = 10, cmdline = 11, eventDesc = 12, cpuTopology = 13, numaTopology = 14
    case branchStack = 15, pmuMappings = 16, groupDesc = 17, auxtrace = 18, stat = 19, cache = 20, sampleTime = 21
    case memTopology = 22, clockID = 23, dirFormat = 24, bpfProgInfo = 25, bpfBTF = 26, compressed = 27
    case cpuPMUCaps = 28, clockData = 29, hybridTopology = 30, pmuCaps = 31
    /// Ember's own, at the last bit, which perf never reads (it walks the bits it knows, lowest first, and this
    /// section comes last): `SampleSideData`.
    case emberSideData = 255
}
