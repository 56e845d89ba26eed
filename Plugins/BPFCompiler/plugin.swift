import Foundation
import PackagePlugin

/// Compiles the target's BPF programs (`Programs/*.bpf.c`) with clang's `bpf` target at build time and embeds each
/// object in the target as a Swift string (`BPFObjectBytes`), so that the loader needs no file beside `ember`.
@main
struct BPFCompiler: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let programs = context.package.directoryURL.appending(path: "Sources/\(target.name)/Programs")
        let names = try FileManager.default.contentsOfDirectory(atPath: programs.path).sorted()
        let inputs = names.filter { $0.hasSuffix(".c") || $0.hasSuffix(".h") }.map { programs.appending(path: $0) }
        let sources = names.filter { $0.hasSuffix(".bpf.c") }.map { programs.appending(path: $0).path }
        // The headers both sides share live in the C module the Swift side imports.
        let shared = context.package.directoryURL.appending(path: "Sources/CBPF")
        let sharedHeaders = try FileManager.default.contentsOfDirectory(atPath: shared.path).filter { $0.hasSuffix(".h") }.map { shared.appending(path: $0) }
        let script = context.package.directoryURL.appending(path: "Plugins/BPFCompiler/compile-bpf.sh")
        let output = context.pluginWorkDirectoryURL.appending(path: "BPFObjectBytes.swift")
        return [.buildCommand(
            displayName: "Compiling BPF programs of \(target.name)",
            executable: URL(fileURLWithPath: "/bin/sh"),
            arguments: [script.path, output.path, shared.path] + sources,
            inputFiles: [script] + inputs + sharedHeaders,
            outputFiles: [output])]
    }
}
