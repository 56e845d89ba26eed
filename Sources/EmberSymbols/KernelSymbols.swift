import EmberKernel

/// Kernel function symbols from `/proc/kallsyms` (module symbols included, as `name [module]` lines).
public struct KernelSymbols: Sendable {
    public let table: SymbolTable
    /// True when every address read as zero: `kernel.kptr_restrict` hides them from this user.
    public let addressesHidden: Bool

    public init(kallsymsText text: String) {
        var candidates: [SymbolTable.Candidate] = []
        var sawNonZero = false
        var lines = 0
        for line in text.split(separator: "\n") {
            lines += 1
            let fields = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true)
            guard fields.count >= 3, let address = UInt64(fields[0], radix: 16) else { continue }
            if address != 0 { sawNonZero = true }
            guard let type = fields[1].first else { continue }
            // perf keeps text (t/T) and weak (w/W) symbols.
            switch type {
            case "t", "T", "w", "W": break
            default: continue
            }
            let binding: SymbolBinding = type == "w" || type == "W" ? .weak : (type.isUppercase ? .global : .local)
            candidates.append(SymbolTable.Candidate(start: address, size: 0, name: String(fields[2]), binding: binding))
        }
        addressesHidden = lines > 0 && !sawNonZero
        table = addressesHidden ? SymbolTable() : SymbolTable(candidates)
    }

    /// Reads this machine's `/proc/kallsyms`.
    public static func loadRunning() -> KernelSymbols {
        KernelSymbols(kallsymsText: readSmallFile("/proc/kallsyms", limit: 256 << 20) ?? "")
    }
}
