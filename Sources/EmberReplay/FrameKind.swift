/// What kind of code a frame is in; drives the `--colors kind` palette of flame graphs.
public enum FrameKind: String, Sendable, CaseIterable {
    /// The kernel (`[kernel.kallsyms]`, modules).
    case kernel
    /// The profiled program's own binaries (the main executable of its process).
    case application
    /// Shared libraries and the dynamic loader.
    case library
    /// Nothing resolved the address.
    case unknown
}
