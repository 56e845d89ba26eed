import EmberKernel

/// Why a BPF program could not run, each with what to do about it: readers that can do without in-kernel
/// aggregation fall back and say so (`summary`), the others print it as their error.
public enum BPFError: Error, CustomStringConvertible, Sendable {
    /// Loading BPF needs root, or CAP_BPF with CAP_PERFMON (EPERM).
    case notPermitted
    /// The running kernel has no BTF (`/sys/kernel/btf/vmlinux`), which CO-RE relocations and `tp_btf` need.
    case noKernelBTF
    /// libbpf could not open the embedded object (a build defect).
    case open(object: String, Errno)
    /// The kernel refused to load a program (the verifier, a missing kernel feature); `log`: libbpf's last words.
    case load(object: String, Errno, log: String)
    case attach(program: String, Errno)
    case noMap(String)
    case noProgram(String)
    case ringBuffer(map: String, Errno)
    case mapAccess(map: String, Errno)

    public var description: String {
        switch self {
        case .notPermitted:
            return "loading a BPF program needs root (or CAP_BPF and CAP_PERFMON)"
        case .noKernelBTF:
            return "the kernel has no BTF (/sys/kernel/btf/vmlinux; CONFIG_DEBUG_INFO_BTF=y) for BPF programs to read its types"
        case .open(let object, let e):
            return "cannot open the BPF object \(object): \(e)"
        case .load(let object, let e, let log):
            return "the kernel refused the BPF object \(object): \(e)" + (log.isEmpty ? "" : " (\(log))")
        case .attach(let program, let e):
            return "cannot attach the BPF program \(program): \(e)"
        case .noMap(let name):
            return "the BPF object has no map \(name)"
        case .noProgram(let name):
            return "the BPF object has no program \(name)"
        case .ringBuffer(let map, let e):
            return "cannot read the BPF ring buffer \(map): \(e)"
        case .mapAccess(let map, let e):
            return "cannot access the BPF map \(map): \(e)"
        }
    }
}
