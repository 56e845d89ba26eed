import EmberKernel
import EmberRecord
#if canImport(Glibc)
import Glibc
#endif

/// libember-heap.so, the allocator shim a heap recording preloads into its command (Sources/ember-heap): its two
/// USDT probes, `ember:alloc(ptr, size, weight)` and `ember:free(ptr)`, have semaphores, so the shim samples only
/// while they are recorded.
public enum HeapShim {
    public static let fileName = "libember-heap.so"
    /// The shim's mean bytes between samples (`--heap-rate`), tcmalloc's default.
    public static let defaultRate: UInt64 = 512 * 1024
    /// The environment variable the shim reads its rate from.
    public static let rateVariable = "EMBER_HEAP_RATE"
    /// Where to look before the directory of `ember` itself.
    public static let pathVariable = "EMBER_HEAP_SHIM"

    /// The shim's `ember:alloc`, or (`--heap-uprobes`) a uprobe on malloc.
    public static func isAllocEvent(_ name: String) -> Bool {
        name.hasPrefix("usdt:") ? name.hasSuffix(":ember:alloc") : name.hasPrefix("uprobe:") && name.hasSuffix(":malloc")
    }
    public static func isFreeEvent(_ name: String) -> Bool {
        name.hasPrefix("usdt:") ? name.hasSuffix(":ember:free") : name.hasPrefix("uprobe:") && name.hasSuffix(":free")
    }
    /// `--heap-uprobes`' return probe on malloc: the address it handed out.
    public static func isAllocReturnEvent(_ name: String) -> Bool { name.hasPrefix("uretprobe:") && name.hasSuffix(":malloc") }

    /// The shim: `$EMBER_HEAP_SHIM`, or beside the running executable (where `make` builds it and an install puts
    /// it), or in `../lib/ember` from it.
    public static func locate() throws -> String {
        if let path = getenv(pathVariable).map({ String(cString: $0) }), !path.isEmpty {
            guard access(path, R_OK) == 0 else { throw HeapError.noShim("\(pathVariable)=\(path) names no readable file") }
            return path
        }
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let executable = length > 0 ? String(cString: buffer) : CommandLine.arguments[0]
        let directory = executable.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        for candidate in ["\(directory)/\(fileName)", "\(directory)/../lib/ember/\(fileName)"] where access(candidate, R_OK) == 0 {
            return candidate
        }
        throw HeapError.noShim("no \(fileName) beside \(executable); build it with 'make shim' (or set \(pathVariable))")
    }

    /// The shim a running process has mapped (it was started with LD_PRELOAD), or nil.
    public static func mapped(pid: Int32) -> String? {
        guard let maps = readSmallFile("/proc/\(pid)/maps", limit: 64 << 20) else { return nil }
        for line in maps.split(separator: "\n") where line.hasSuffix("/" + fileName) {
            if let slash = line.firstIndex(of: "/") { return String(line[slash...]) }
        }
        return nil
    }

    /// `options` made into a heap recording: the shim's two probes (an allocation's with the call graph, a free's
    /// without: its address is all it needs), ahead of the events asked for with `-e` (`extra`), and the command
    /// started with the shim preloaded at `rate` bytes. `-p` processes must have been started with the shim.
    public static func recording(_ options: RecordOptions, rate: UInt64, extra: [RecordedEvent]) throws -> RecordOptions {
        var options = options
        let shim: String
        switch options.target {
        case .allCPUs:
            throw HeapError.wholeMachine
        case .command:
            shim = try locate()
            var environment = currentEnvironment().filter { !$0.hasPrefix("LD_PRELOAD=") && !$0.hasPrefix(rateVariable + "=") }
            let preload = getenv("LD_PRELOAD").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
            environment.append("LD_PRELOAD=" + ([shim] + (preload.map { [$0] } ?? [])).joined(separator: " "))
            environment.append("\(rateVariable)=\(rate)")
            options.environment = environment
        case .processes(let pids):
            let mapped = pids.map { (pid: $0, shim: HeapShim.mapped(pid: $0)) }
            if let bare = mapped.first(where: { $0.shim == nil }) {
                throw HeapError.notPreloaded(pid: bare.pid, shim: (try? locate()) ?? fileName)
            }
            let shims = Set(mapped.compactMap(\.shim))
            guard shims.count == 1, let only = shims.first else {
                throw HeapError.severalShims(Array(shims).sorted())
            }
            shim = only
        }
        options.events = [
            RecordedEvent(.usdt(binary: shim, provider: "ember", name: "alloc")),
            RecordedEvent(.usdt(binary: shim, provider: "ember", name: "free"), stacks: false),
        ] + extra
        return options
    }

    /// `options` made into a heap recording the way bcc's memleak makes one: a uprobe on every call of libc's
    /// malloc (with the call graph and its size) and its return (the address), and on every free; no shim, no
    /// sampling, and many times slower allocation. calloc, realloc and the aligned allocators are not probed.
    public static func uprobeRecording(_ options: RecordOptions, extra: [RecordedEvent]) throws -> RecordOptions {
        var options = options
        if case .allCPUs = options.target { throw HeapError.wholeMachine }
        options.events = [
            RecordedEvent(.uprobe(binary: "libc", location: .symbol("malloc", offset: 0), isReturn: false)),
            RecordedEvent(.uprobe(binary: "libc", location: .symbol("malloc", offset: 0), isReturn: true), stacks: false),
            RecordedEvent(.uprobe(binary: "libc", location: .symbol("free", offset: 0), isReturn: false), stacks: false),
        ] + extra
        return options
    }

    private static func currentEnvironment() -> [String] {
        var entries: [String] = []
        var cursor = environ
        while let entry = cursor.pointee {
            entries.append(String(cString: entry))
            cursor += 1
        }
        return entries
    }
}
