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

    /// The shim: `$EMBER_HEAP_SHIM`, or beside the running executable (where `make` builds it and an install puts
    /// it), or in `../lib/ember` from it.
    /// The path is absolute and has no space or colon, which LD_PRELOAD would split it at.
    public static func locate() throws -> String {
        var candidates: [String]
        var executable = ""
        if let path = getenv(pathVariable).map({ String(cString: $0) }), !path.isEmpty {
            guard access(path, R_OK) == 0 else { throw HeapError.noShim("\(pathVariable)=\(path) names no readable file") }
            candidates = [path]
        } else {
            var buffer = [CChar](repeating: 0, count: 4096)
            let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
            executable = length > 0 ? String(cString: buffer) : CommandLine.arguments[0]
            let directory = executable.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            candidates = ["\(directory)/\(fileName)", "\(directory)/../lib/ember/\(fileName)"]
        }
        for candidate in candidates where access(candidate, R_OK) == 0 {
            guard let path = resolvedPath(candidate) else { continue }
            guard !path.contains(" "), !path.contains(":") else {
                throw HeapError.noShim("LD_PRELOAD cannot take \(path): its path has a space or a colon; copy it elsewhere and set \(pathVariable)")
            }
            return path
        }
        throw HeapError.noShim("no \(fileName) beside \(executable); build it with 'make shim' (or set \(pathVariable))")
    }

    /// The shim a running process has mapped (it was started with LD_PRELOAD), or nil; a shim rebuilt or removed
    /// since the process mapped it cannot be probed, and throws.
    public static func mapped(pid: Int32) throws -> String? {
        guard let maps = readSmallFile("/proc/\(pid)/maps", limit: 64 << 20) else { return nil }
        for line in maps.split(separator: "\n") {
            guard let slash = line.firstIndex(of: "/") else { continue }
            let path = line[slash...]
            if path.hasSuffix("/" + fileName) { return String(path) }
            if path.hasSuffix("/" + fileName + " (deleted)") { throw HeapError.shimReplaced(pid: pid) }
        }
        return nil
    }

    /// The rings of a heap recording (4 MiB): the samples come in bursts, with a stack copy each under -g (the leaf
    /// repair), and 512 KiB lost a fifth of the fixture's at --heap-rate 16K.
    public static let ringPages = 1024

    /// `options` made into a heap recording: the shim's two probes (an allocation's with the call graph, a free's
    /// without: its address is all it needs), ahead of the events asked for with `-e` (`extra`), and the command
    /// started with the shim preloaded at `rate` bytes, in rings of at least `ringPages`. `-p` processes must have
    /// been started with the shim.
    public static func recording(_ options: RecordOptions, rate: UInt64, extra: [RecordedEvent]) throws -> RecordOptions {
        var options = options
        options.mmapPages = max(options.mmapPages, ringPages)
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
            let mapped = try pids.map { (pid: $0, shim: try HeapShim.mapped(pid: $0)) }
            if let bare = mapped.first(where: { $0.shim == nil }) {
                throw HeapError.notPreloaded(pid: bare.pid, shim: (try? locate()) ?? fileName)
            }
            let shims = Set(mapped.compactMap(\.shim))
            guard shims.count == 1, let only = shims.first else {
                throw HeapError.severalShims(Array(shims).sorted())
            }
            shim = only
        }
        // With -g, the allocating call's frame comes back through the leaf repair: the shim is reached from functions
        // that keep no frame pointer (C++'s operator new, libc's strdup), whose callers their chains skip.
        options.events = [
            RecordedEvent(.usdt(binary: shim, provider: "ember", name: "alloc"), repairsLeaf: true),
            RecordedEvent(.usdt(binary: shim, provider: "ember", name: "free"), stacks: false),
        ] + extra
        return options
    }

    /// `options` made into a heap recording the way bcc's memleak makes one: a uprobe on every call of libc's
    /// malloc (with the call graph and its size) and its return (the address), and on every free and realloc (whose
    /// old block it frees; glibc's realloc frees it inside, not through free); no shim, no sampling, and many times
    /// slower allocation. calloc, realloc's new blocks and the aligned allocators are not seen.
    public static func uprobeRecording(_ options: RecordOptions, extra: [RecordedEvent]) throws -> RecordOptions {
        var options = options
        if case .allCPUs = options.target { throw HeapError.wholeMachine }
        options.events = [
            RecordedEvent(.uprobe(binary: "libc", location: .symbol("malloc", offset: 0), isReturn: false)),
            RecordedEvent(.uprobe(binary: "libc", location: .symbol("malloc", offset: 0), isReturn: true), stacks: false),
            RecordedEvent(.uprobe(binary: "libc", location: .symbol("free", offset: 0), isReturn: false), stacks: false),
            RecordedEvent(.uprobe(binary: "libc", location: .symbol("realloc", offset: 0), isReturn: false), stacks: false),
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

/// The events of a heap recording, by index: the shim's two probes, or `--heap-uprobes`' malloc, its return, free
/// and realloc.
public struct HeapEvents: Sendable {
    /// The allocations: `ember:alloc`, or the uprobe on malloc.
    public var alloc: Int
    public var free: Int?
    /// `--heap-uprobes`: malloc's return (the address it handed out) and realloc's entry (a free of its old block).
    public var allocReturn: Int?
    public var realloc: Int?

    public init?(_ names: [String]) {
        func index(_ prefix: String, _ suffix: String) -> Int? {
            names.firstIndex { $0.hasPrefix(prefix) && $0.hasSuffix(suffix) }
        }
        if let alloc = index("usdt:", ":ember:alloc") {
            self.alloc = alloc
            free = index("usdt:", ":ember:free")
        } else if let alloc = index("uprobe:", ":malloc"), let allocReturn = index("uretprobe:", ":malloc") {
            // A uprobe on malloc alone is someone's own probe, counted as calls; with its return it is a heap recording.
            self.alloc = alloc
            self.allocReturn = allocReturn
            free = index("uprobe:", ":free")
            realloc = index("uprobe:", ":realloc")
        } else {
            return nil
        }
    }

    /// A recording of `record --heap` or `--heap-uprobes`, which its readers weigh by bytes unless told otherwise.
    public static func isHeapRecording(_ names: [String]) -> Bool { HeapEvents(names)?.alloc == 0 }
}
