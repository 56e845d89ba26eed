import CBPF
import EmberKernel
#if canImport(Glibc)
import Glibc
#endif

/// One of Ember's BPF objects (compiled from `Programs/*.bpf.c` at build time and embedded), loaded into the kernel
/// with libbpf. Its programs run once `attach()` is called and stop when the object is released: the links and the
/// object are destroyed exactly once, at deinit.
public final class BPFObject {
    /// The embedded objects, by the name of their source file.
    public enum Name: String, Sendable {
        /// `runqueue.bpf.c`: run-queue delay per thread (`ember latency --sched`).
        case runqueue
        /// `capture.bpf.c`: what a DWARF sample cannot carry, taken with it (`ember record`): the stack beyond its
        /// copy, Swift async context chains.
        case capture
    }

    public let name: Name
    private let object: OpaquePointer
    private var links: [OpaquePointer] = []

    /// Opens and loads `name`: maps created (those named in `entries` with that many entries instead of what the
    /// program declares), programs verified. Throws `BPFError` with the kernel's reason.
    public init(_ name: Name, entries: [String: UInt32] = [:]) throws {
        self.name = name
        guard access("/sys/kernel/btf/vmlinux", R_OK) == 0 else { throw BPFError.noKernelBTF }
        BPFLog.install()
        let bytes = BPFObject.bytes(of: name)
        let opened = bytes.withUnsafeBytes { bpf_object__open_mem($0.baseAddress, $0.count, nil) }
        guard let opened else { throw BPFError.open(object: name.rawValue, Errno.current) }
        for (mapName, count) in entries {
            guard let map = bpf_object__find_map_by_name(opened, mapName) else {
                bpf_object__close(opened)
                throw BPFError.noMap(mapName)
            }
            bpf_map__set_max_entries(map, count)
        }
        BPFLog.clear()
        let loaded = bpf_object__load(opened)
        guard loaded == 0 else {
            bpf_object__close(opened)
            let e = Errno(-loaded)
            // The verifier refuses a program with EACCES too: that is a permission problem only without root.
            if e == .notPermitted || (e == .permissionDenied && geteuid() != 0) { throw BPFError.notPermitted }
            throw BPFError.load(object: name.rawValue, e, log: BPFLog.lastLine)
        }
        object = opened
    }

    deinit {
        for link in links { bpf_link__destroy(link) }
        bpf_object__close(object)
    }

    /// Attaches every program where its section says (`tp_btf/sched_switch`...): from here on they run.
    public func attach() throws {
        var program = bpf_object__next_program(object, nil)
        while let p = program {
            guard let link = bpf_program__attach(p) else {
                let programName = String(cString: bpf_program__name(p))
                throw BPFError.attach(program: programName, Errno.current)
            }
            links.append(link)
            program = bpf_object__next_program(object, p)
        }
    }

    /// Stops every attached program (its maps stay readable until the object is released).
    public func detach() {
        for link in links { bpf_link__destroy(link) }
        links.removeAll()
    }

    /// The file descriptor of program `programName`, for an attachment libbpf does not make (a perf event's
    /// `PERF_EVENT_IOC_SET_BPF`); the object owns it.
    public func programFD(_ programName: String) throws -> Int32 {
        guard let program = bpf_object__find_program_by_name(object, programName) else { throw BPFError.noProgram(programName) }
        return bpf_program__fd(program)
    }

    /// The CPUs a per-CPU structure must cover (`bpf_get_smp_processor_id()` is below it).
    public static var possibleCPUs: Int { Int(max(libbpf_num_possible_cpus(), 1)) }

    /// The map `name` declares in the object's `.maps` section.
    public func map(_ mapName: String) throws -> BPFMap {
        guard let map = bpf_object__find_map_by_name(object, mapName) else { throw BPFError.noMap(mapName) }
        return BPFMap(name: mapName, fd: bpf_map__fd(map), keySize: Int(bpf_map__key_size(map)), valueSize: Int(bpf_map__value_size(map)))
    }

    /// The object file's bytes, from the hex the build embedded.
    static func bytes(of name: Name) -> [UInt8] {
        let hex: StaticString
        switch name {
        case .runqueue: hex = BPFObjectBytes.runqueue
        case .capture: hex = BPFObjectBytes.capture
        }
        return hex.withUTF8Buffer { text in
            func nibble(_ c: UInt8) -> UInt8 { c <= 0x39 ? c &- 0x30 : c &- 0x61 &+ 10 }
            var out = [UInt8]()
            out.reserveCapacity(text.count / 2)
            var i = 0
            while i + 1 < text.count {
                out.append(nibble(text[i]) << 4 | nibble(text[i + 1]))
                i += 2
            }
            return out
        }
    }
}
