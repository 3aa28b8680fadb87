// swift-tools-version:6.0
import PackageDescription

// The knowledge base benchmark, a package of its own so that the main package ships no benchmark code.
// Sources/KnowledgeBase is a link to the real target's sources: what is measured is what ships.
let package = Package(
    name: "kb-bench",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
    ],
    targets: [
        .target(
            name: "KnowledgeBase",
            dependencies: ["CZlib", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Yams", package: "Yams")],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .executableTarget(
            name: "kb-bench",
            dependencies: ["KnowledgeBase", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]),
    ],
    swiftLanguageModes: [.v6]
)
