// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Ember",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "ember", targets: ["ember"]),
        .library(name: "EmberKernel", targets: ["EmberKernel"]),
        .library(name: "EmberPerfData", targets: ["EmberPerfData"]),
        .library(name: "EmberSession", targets: ["EmberSession"]),
        .library(name: "EmberSymbols", targets: ["EmberSymbols"]),
        .library(name: "EmberUnwind", targets: ["EmberUnwind"]),
        .library(name: "EmberLibunwind", targets: ["EmberLibunwind"]),
        .library(name: "EmberReplay", targets: ["EmberReplay"]),
        .library(name: "EmberStacks", targets: ["EmberStacks"]),
        .library(name: "EmberRender", targets: ["EmberRender"]),
        .library(name: "EmberRecord", targets: ["EmberRecord"]),
        .library(name: "EmberPprof", targets: ["EmberPprof"]),
        .library(name: "EmberOTLP", targets: ["EmberOTLP"]),
        .library(name: "EmberBPF", targets: ["EmberBPF"]),
        .library(name: "EmberLatency", targets: ["EmberLatency"]),
        .library(name: "EmberExport", targets: ["EmberExport"]),
        .library(name: "EmberProfiler", targets: ["EmberProfiler"]),
        .library(name: "EmberAnnotate", targets: ["EmberAnnotate"]),
        .library(name: "EmberTop", targets: ["EmberTop"]),
        .library(name: "EmberHeap", targets: ["EmberHeap"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Exact: Sources/EmberPprof/Generated and Sources/EmberOTLP/Generated were made by this version's
        // protoc-gen-swift (`make proto`).
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        // The agent's listening socket (Hummingbird's own dependency, named for the handlers that guard it).
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
    ],
    targets: [
        // C edge: the perf_event_open syscall, ring-buffer atomics, and a fork/exec handshake.
        .target(name: "CEmberShim"),
        // libdw/libelf from elfutils, found through pkg-config.
        .systemLibrary(name: "CElfUtils", pkgConfig: "libdw",
                       providers: [.apt(["libdw-dev", "libelf-dev"])]),
        .target(name: "EmberKernel", dependencies: ["CEmberShim"]),
        // libzstd, for the compressed records of `perf record -z`.
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .target(name: "EmberPerfData", dependencies: ["EmberKernel", "CZstd", "CGzip"]),
        .target(name: "EmberSession", dependencies: ["EmberPerfData"]),
        .target(name: "EmberSymbols", dependencies: ["CElfUtils", "CEmberShim", "EmberKernel", "EmberSession"],
                // __cxa_demangle; swift_demangle comes with the Swift runtime.
                linkerSettings: [.linkedLibrary("stdc++")]),
        // libunwind's remote unwinder, the second unwinder that checks Ember's own (`--unwinder libunwind`).
        .target(name: "CUnwind", linkerSettings: [.linkedLibrary("unwind-x86_64"), .linkedLibrary("unwind")]),
        .target(name: "EmberUnwind", dependencies: ["CElfUtils", "EmberPerfData", "EmberSession", "EmberSymbols"]),
        // Only programs that ask for libunwind link it: readers take their unwinder injected (UnwinderFactory).
        .target(name: "EmberLibunwind", dependencies: ["CUnwind", "EmberPerfData", "EmberSession", "EmberSymbols", "EmberUnwind", "EmberReplay"]),
        // Records (from a file) through the process model to samples with their frames resolved, for every reader.
        .target(name: "EmberReplay", dependencies: ["EmberKernel", "EmberPerfData", "EmberSession", "EmberSymbols", "EmberUnwind"]),
        .target(name: "EmberStacks", dependencies: ["EmberPerfData", "EmberSession", "EmberSymbols", "EmberReplay"]),
        .target(name: "EmberRender", dependencies: ["EmberReplay", "EmberStacks"]),
        // gzip through zlib, for profile.pb.gz.
        .target(name: "CGzip", linkerSettings: [.linkedLibrary("z")]),
        // OpenTelemetry profiles (OTLP), from opentelemetry-proto v1.11.0's generated code.
        .target(name: "EmberOTLP", dependencies: [
            "EmberKernel", "EmberPerfData", "EmberReplay", "EmberSession", "EmberStacks", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        .target(name: "EmberPprof", dependencies: [
            "EmberReplay", "EmberStacks", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ], exclude: ["profile.proto"]),
        // libbpf, and the layouts Ember's BPF programs share with their readers.
        .systemLibrary(name: "CBPF", pkgConfig: "libbpf", providers: [.apt(["libbpf-dev"])]),
        // Compiles Programs/*.bpf.c with clang's bpf target at build time and embeds the objects.
        .plugin(name: "BPFCompiler", capability: .buildTool()),
        // The BPF loader: Ember's embedded programs loaded, attached and read through libbpf.
        .target(name: "EmberBPF", dependencies: ["CBPF", "EmberKernel"], exclude: ["Programs"], plugins: ["BPFCompiler"]),
        // Run-queue delay and off-CPU time from the sched tracepoints, with HDR histograms for percentiles.
        .target(name: "EmberLatency", dependencies: [
            "CBPF", "EmberKernel", "EmberBPF", "EmberRecord", "EmberReplay", "EmberStacks", .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),
        // `ember agent`: profiles on request over HTTP, for Parca and Pyroscope.
        .target(name: "EmberAgent", dependencies: [
            "CEmberShim", "EmberRecord", "EmberReplay", "EmberStacks", "EmberPprof", "EmberOTLP", "EmberLatency", "EmberHeap",
            .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "Prometheus", package: "swift-prometheus"), "CHTTP",
        ]),
        // --push's POSTs, through libcurl opened at the first one (its headers from libcurl4-openssl-dev).
        .target(name: "CHTTP"),
        // Profiling from inside a Swift program: the recorder on its own process, the readers on the result.
        .target(name: "EmberProfiler", dependencies: ["EmberRecord", "EmberReplay", "EmberStacks", "EmberRender", "EmberPprof"]),
        // Capstone, opened on first use (its headers from libcapstone-dev), for annotate's instructions.
        .target(name: "CDisasm"),
        // `ember annotate`: each sampled instruction and source line of a function with its share.
        .target(name: "EmberAnnotate", dependencies: ["CDisasm", "EmberPerfData", "EmberSession", "EmberSymbols", "EmberReplay", "EmberRender"]),
        // `ember top`: a live recording read into a decaying view, on a terminal or as text.
        .target(name: "EmberTop", dependencies: ["CEmberShim", "EmberKernel", "EmberPerfData", "EmberRecord", "EmberReplay", "EmberStacks", "EmberSymbols", "EmberAnnotate", "EmberRender"]),
        // Profiles for the viewers people already use: speedscope and the Firefox Profiler.
        .target(name: "EmberExport", dependencies: ["EmberPerfData", "EmberReplay", "EmberStacks"]),
        .target(name: "EmberRecord", dependencies: ["EmberKernel", "EmberPerfData", "EmberSymbols", "EmberBPF", "CEmberShim"]),
        // Heap profiles: recordings of libember-heap.so's sampled allocations (Sources/ember-heap, built by
        // `make shim` with the C compiler, not SwiftPM, which would link the Swift runtime into every process it is
        // preloaded into), paired with their frees.
        .target(name: "EmberHeap", dependencies: ["EmberKernel", "EmberPerfData", "EmberPprof", "EmberRecord", "EmberReplay", "EmberStacks"]),
        .executableTarget(name: "ember", dependencies: [
            "CEmberShim", "EmberRecord", "EmberReplay", "EmberStacks", "EmberLibunwind", "EmberRender", "EmberPprof", "EmberOTLP", "EmberLatency", "EmberExport", "EmberAgent", "EmberAnnotate", "EmberTop", "EmberHeap",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The readers' fuzz target: replays inputs when built normally; `make fuzz` builds it with libFuzzer.
        .executableTarget(name: "EmberFuzz", dependencies: ["CEmberShim", "EmberAnnotate", "EmberExport", "EmberHeap", "EmberKernel", "EmberPerfData", "EmberSymbols", "EmberReplay", "EmberStacks", "EmberRender", "EmberUnwind", "EmberLibunwind", "EmberLatency", "EmberPprof", "EmberOTLP"]),
        // Tests by stage, without root or a kernel (`make unit`); EmberEndToEndTests runs the built ember.
        .testTarget(name: "EmberKernelTests", dependencies: ["EmberKernel"]),
        .testTarget(name: "EmberPerfDataTests", dependencies: ["EmberKernel", "EmberPerfData"]),
        .testTarget(name: "EmberSessionTests", dependencies: ["EmberKernel", "EmberPerfData", "EmberSession"]),
        .testTarget(name: "EmberSymbolsTests", dependencies: ["EmberSymbols", "EmberReplay"]),
        .testTarget(name: "EmberUnwindTests", dependencies: ["EmberUnwind"]),
        .testTarget(name: "EmberReplayTests", dependencies: ["EmberKernel", "EmberPerfData", "EmberReplay"]),
        .testTarget(name: "EmberStacksTests", dependencies: ["EmberKernel", "EmberPerfData", "EmberSymbols", "EmberReplay", "EmberStacks", "EmberRender"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "EmberRecordTests", dependencies: ["EmberKernel", "EmberPerfData", "EmberRecord", "EmberReplay"]),
        .testTarget(name: "EmberLatencyTests", dependencies: ["EmberKernel", "EmberPerfData", "EmberReplay", "EmberStacks", "EmberLatency"]),
        .testTarget(name: "EmberProfilerTests", dependencies: ["EmberProfiler"]),
        .testTarget(name: "EmberRenderTests", dependencies: ["EmberRender", "EmberReplay", "EmberStacks"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "EmberEndToEndTests", dependencies: ["EmberPerfData"]),
    ],
    swiftLanguageModes: [.v5]
)
