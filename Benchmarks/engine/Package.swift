// swift-tools-version:6.0
// Engine speed against SQLite's own limit. Built apart from the main package so the test suite never
// compiles it; run it with `Benchmarks/engine/run` (see BENCHMARKS.md).
import PackageDescription

let package = Package(
    name: "engine-bench",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "fabrique", path: "../.."),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
    ],
    targets: [
        .executableTarget(
            name: "engine-bench",
            dependencies: [
                .product(name: "BotCore", package: "fabrique"),
                .product(name: "Factory", package: "fabrique"),
                .product(name: "StdioAdapter", package: "fabrique"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
