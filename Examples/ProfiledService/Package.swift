// swift-tools-version:6.0
import PackageDescription

// A small Swift HTTP service that profiles itself: EmberProfiler behind its own /debug/pprof/profile route.
let package = Package(
    name: "ProfiledService",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Ember", path: "../.."),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
    ],
    targets: [
        .executableTarget(name: "ProfiledService", dependencies: [
            .product(name: "EmberProfiler", package: "Ember"),
            .product(name: "Hummingbird", package: "hummingbird"),
        ]),
    ]
)
