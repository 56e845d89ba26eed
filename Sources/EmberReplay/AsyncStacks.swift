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
    /// Per resume address location, whether it is a valid ResumeParent: a resume funclet's start (false) or a
    /// task's completion (true); nil: not one.
    private var resumes: [UInt64: Bool?] = [:]
    /// Per frame location, its offset in its async function (nil: not in one), so that a sample's innermost async
    /// frame is found without a symbol lookup per frame.
    private var asyncOffsets: [UInt64: UInt64?] = [:]
    /// The callers of the last chain validated.
    private var callers: [UInt64] = []

    init(model: ProcessModel, symbolizer: Symbolizer) {
        self.model = model
        self.symbolizer = symbolizer
    }

    /// The offset of `location` in the Swift async function (or funclet) it is in; nil when it is in none.
    mutating func offsetInAsyncFunction(_ location: ProcessModel.Location) -> UInt64? {
        let key = location.cacheKey
        if let known = asyncOffsets[key] { return known }
        let offset = symbolizer.symbol(at: location).flatMap { SwiftAsyncNames.isAsync($0.rawName) ? $0.offset : nil }
        asyncOffsets[key] = offset
        return offset
    }

    /// The chain to splice after the innermost async frame, in the funclet (or async function) that starts at
    /// `start` in process `pid`: its resume addresses, that frame's caller first and the task's root last; nil
    /// when no chain validates. Valid until the next call.
    mutating func callers(ofFuncletAt start: UInt64, in chains: AsyncChains, pid: Int32) -> ArraySlice<UInt64>? {
        var found = false
        chains.first { chain in
            found = validate(chain, pid: pid)
            return found
        }
        guard found else { return nil }
        // At the start of a TQ funclet the register still holds the callee's context, whose ResumeParent is this
        // very funclet (LLDB's indirect context): the callers begin after it.
        return callers.first == start ? callers.dropFirst() : callers[...]
    }

    /// Whether each of the chain's resume addresses is a resume funclet's start or a task's completion, and only the
    /// last the latter; they are then in `callers`.
    private mutating func validate(_ chain: AsyncChains.Chain, pid: Int32) -> Bool {
        callers.removeAll(keepingCapacity: true)
        for i in 0..<chain.count {
            let resume = chain.resume(i)
            guard let location = model.resolve(pid: pid, address: resume) else { return false }
            let key = location.cacheKey
            if resumes[key] == nil {
                let hit = symbolizer.symbol(at: location)
                resumes[key] = hit.flatMap { hit -> Bool? in
                    guard hit.offset == 0 else { return nil }
                    if SwiftAsyncNames.isTaskCompletion(hit.rawName) { return true }
                    return SwiftAsyncNames.isResumeFunclet(hit.rawName) ? false : nil
                }
            }
            // Only a task's completion ends a chain, and only at its end.
            guard let completes = resumes[key] ?? nil, completes == (i == chain.count - 1) else { return false }
            callers.append(resume)
        }
        return !callers.isEmpty
    }
}
