// swift-tools-version:6.0
// The resident memory a process pays for the libraries the project's stack prescribes, before any work of
// Fabrique's: Foundation alone, then Foundation with GRDB and Yams loaded and used. Run with
// `Benchmarks/rss-floor/run` (see BENCHMARKS.md, "The floor of the mandated stack").
import PackageDescription

let package = Package(
    name: "rss-floor",
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
    ],
    targets: [
        .executableTarget(name: "foundation-only"),
        .executableTarget(
            name: "rss-floor",
            dependencies: [.product(name: "GRDB", package: "GRDB.swift"), .product(name: "Yams", package: "Yams")]),
    ],
    swiftLanguageModes: [.v6]
)
