/// What symbolization shows, and where it looks.
public struct SymbolOptions: Sendable {
    public var demangle: DemangleStyle = .short
    /// Each inlined call as its own frame (libdw's inline scopes).
    public var inline = true
    /// `file:line` for each frame.
    public var sourceLines = false
    /// A sysroot to read binaries and debug files from (`--symfs`).
    public var symfs: String?
    /// Build-ids the recording noted per binary path; a file whose build-id differs is not used.
    public var expectedBuildIDs: [String: [UInt8]] = [:]
    /// The build-id of the kernel the recording was made on, when it says.
    public var expectedKernelBuildID: [UInt8]?
    /// Keep symbol versions (`memcpy@@GLIBC_2.14`) in names; they are dropped otherwise.
    public var symbolVersions = false
    /// Name and fold frames exactly as `perf script | stackcollapse-perf.pl` does: symbols looked up at return
    /// addresses themselves (not their call sites), Swift names mangled (perf has no Swift demangler), versions
    /// kept, no inlined frames, frames named "(..." dropped, an unwind cut short marked `[unknown]`.
    public var perfCompatible = false
    /// DWARF unwinds go on past a sample's stack copy into the rest of the thread's stack that the recording read
    /// (`Sample.stackTail`), where it agrees with the copy (`--no-stack-tail` turns it off; not with perfCompatible).
    public var stackTails = true
    /// The awaiting callers of Swift async code from the chains a recording took with its samples, in place of the
    /// executor's frames (`--no-async-stacks` turns it off; not with perfCompatible).
    public var asyncStacks = true
    /// A kernel symbol table to use instead of this machine's kallsyms (the fuzz target's, so that its runs do not
    /// depend on the host's kernel or pay for loading it); kernel addresses are then taken as they are.
    public var kernelSymbols: KernelSymbols?

    public init() {}
}
