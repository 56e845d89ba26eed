import EmberPerfData
import EmberSession
import EmberSymbols

/// Swift async stacks: the chain of awaiting callers, which lives in async contexts on the heap rather than on the
/// thread's stack, put in place of the executor frames above the innermost async frame. The chains come with the
/// samples (`Sample.asyncChains`, taken by the recorder's BPF program from the async context register and the frame
/// slots where funclets keep it); one is used only if every ResumeParent in it is the start of a resume funclet
/// (`...TQn_`, `...TYn_`) or of the runtime's task-completion function that roots a task.
struct AsyncStacks {
    private let model: ProcessModel
    private let symbolizer: Symbolizer
    /// Per resume address location, its symbol when it is a valid ResumeParent (nil: not one).
    private var resumes: [UInt64: Symbolizer.Hit?] = [:]

    init(model: ProcessModel, symbolizer: Symbolizer) {
        self.model = model
        self.symbolizer = symbolizer
    }

    /// The chain to splice after the innermost async frame, in the funclet (or async function) that starts at
    /// `start` in process `pid`: its resume addresses, that frame's caller first and the task's root last; nil
    /// when no chain validates.
    mutating func callers(ofFuncletAt start: UInt64, in chains: AsyncChains, pid: Int32) -> [UInt64]? {
        var out: [UInt64]?
        chains.forEach { chain in
            guard out == nil, var resumes = validated(chain, pid: pid) else { return }
            // At the start of a TQ funclet the register still holds the callee's context, whose ResumeParent is
            // this very funclet (LLDB's indirect context): the callers begin after it.
            if resumes.first?.address == start { resumes.removeFirst() }
            out = resumes.map(\.address)
        }
        return out
    }

    /// The chain's resume addresses (with their location keys) when each is a resume funclet's start or a task's
    /// completion, and the last one the latter.
    private mutating func validated(_ chain: [(context: UInt64, resume: UInt64)], pid: Int32) -> [(address: UInt64, key: UInt64)]? {
        var out: [(address: UInt64, key: UInt64)] = []
        for (i, node) in chain.enumerated() {
            guard let location = model.resolve(pid: pid, address: node.resume) else { return nil }
            let key = location.cacheKey
            if resumes[key] == nil {
                let hit = symbolizer.symbol(at: location)
                resumes[key] = hit.flatMap { $0.offset == 0 && (SwiftAsyncNames.isResumeFunclet($0.rawName) || SwiftAsyncNames.isTaskCompletion($0.rawName)) ? $0 : nil }
            }
            guard let hit = resumes[key] ?? nil else { return nil }
            // Only a task's completion ends a chain, and only at its end.
            guard SwiftAsyncNames.isTaskCompletion(hit.rawName) == (i == chain.count - 1) else { return nil }
            out.append((node.resume, key))
        }
        return out.isEmpty ? nil : out
    }
}
