// swift-tools-version:6.0
// libFuzzer targets for the parsers that meet untrusted text. Built apart from the main package with
// `-sanitize=fuzzer` by `Fuzz/run` (see its header); the test suite never builds it.
import PackageDescription

let package = Package(
    name: "fabrique-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "fabrique", path: "..")],
    targets: [
        .executableTarget(
            name: "fabrique-fuzz",
            dependencies: [
                .product(name: "BotCore", package: "fabrique"),
                .product(name: "Dialogues", package: "fabrique"),
                .product(name: "KnowledgeBase", package: "fabrique"),
                .product(name: "MatrixAdapter", package: "fabrique"),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
    ],
    swiftLanguageModes: [.v6]
)
