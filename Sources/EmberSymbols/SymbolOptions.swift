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

    public init() {}
}
