// swift-tools-version:6.0
import PackageDescription

// EmberBench: times Ember against perf on the same inputs and prints ratios.
// Its own package (no dependencies) so it builds fast and stays out of the
// main Ember build. See README.md.
let package = Package(
    name: "EmberBenchmarks",
    targets: [
        .executableTarget(name: "EmberBench", path: "Sources/EmberBench"),
    ]
)
