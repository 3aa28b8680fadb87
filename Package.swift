// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "fabrique",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "fabrique", targets: ["fabrique"]),
        .library(name: "FabriqueJSON", targets: ["FabriqueJSON"]),
        .library(name: "BotCore", targets: ["BotCore"]),
        .library(name: "Factory", targets: ["Factory"]),
        .library(name: "Dialogues", targets: ["Dialogues"]),
        .library(name: "KnowledgeBase", targets: ["KnowledgeBase"]),
        .library(name: "MatrixAdapter", targets: ["MatrixAdapter"]),
        .library(name: "StdioAdapter", targets: ["StdioAdapter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "3.12.3"),
    ],
    targets: [
        .target(name: "FabriqueJSON", path: "Sources/JSON", swiftSettings: strict),
        .target(
            name: "Dialogues",
            dependencies: ["FabriqueJSON", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict),
        .target(
            name: "KnowledgeBase",
            dependencies: [
                "CZlib",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict),
        // Fetches a web page for `fabrique kb import https://…` (robots.txt, size limit, timeout): the knowledge
        // base takes its text and never does network I/O itself.
        .target(name: "WebFetch", swiftSettings: strict),
        // zlib, which inflates the parts of DOCX and ODT archives (Debian: zlib1g-dev).
        .systemLibrary(
            name: "CZlib",
            path: "Sources/CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
        .target(
            name: "BotCore",
            dependencies: [
                "Dialogues", "FabriqueJSON", "KnowledgeBase",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .target(
            name: "Factory",
            dependencies: ["BotCore", "KnowledgeBase", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict),
        // libcurl, which the Matrix transport drives directly (Debian: libcurl4-openssl-dev).
        .systemLibrary(
            name: "CCurl",
            path: "Sources/CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"]), .brew(["curl"])]),
        // libolm 3.2 (Debian: libolm-dev): Olm and Megolm for encrypted rooms, behind `OlmBackend`.
        .systemLibrary(name: "COlm", path: "Sources/COlm", providers: [.apt(["libolm-dev"]), .brew(["libolm"])]),
        .target(
            name: "MatrixAdapter",
            dependencies: [
                "BotCore", "CCurl", "COlm", "FabriqueJSON",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Sources/Adapters/Matrix",
            swiftSettings: strict),
        .target(
            name: "StdioAdapter",
            dependencies: ["BotCore", "KnowledgeBase"],
            path: "Sources/Adapters/Stdio",
            swiftSettings: strict),
        .executableTarget(
            name: "fabrique",
            dependencies: [
                "BotCore", "Dialogues", "Factory", "KnowledgeBase", "MatrixAdapter", "StdioAdapter", "WebFetch",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [],
            swiftSettings: strict),
        // What the test targets share: the engine's bench, the manual scheduler, the seeded random
        // source, and the one way to run the built `fabrique`.
        .target(
            name: "FabriqueTesting",
            dependencies: ["BotCore", "KnowledgeBase", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Tests/FabriqueTesting",
            swiftSettings: strict),
        .testTarget(
            name: "BotCoreTests",
            dependencies: [
                "BotCore", "StdioAdapter", "MatrixAdapter", "KnowledgeBase", "FabriqueTesting", .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "FactoryTests",
            dependencies: [
                "Factory", "BotCore", "KnowledgeBase", "MatrixAdapter", "FabriqueTesting", .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict),
        .testTarget(name: "DialoguesTests", dependencies: ["Dialogues", "FabriqueJSON", "FabriqueTesting"], swiftSettings: strict),
        .testTarget(name: "KnowledgeBaseTests", dependencies: ["KnowledgeBase", "WebFetch"], swiftSettings: strict),
        .testTarget(
            name: "MatrixAdapterTests",
            dependencies: [
                "MatrixAdapter", "BotCore", "FabriqueTesting", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "StdioAdapterTests",
            dependencies: ["StdioAdapter", "BotCore", "Factory", "FabriqueTesting", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
