// swift-tools-version:6.0
// A reference point for Benchmarks/matrix: the echo bot of echo_bot.py written with nothing but
// Foundation's URLSession (FoundationNetworking, libcurl based, on Linux), the stack Fabrique is held
// to, so the benchmark shows what that stack costs on its own. No package dependencies.
import PackageDescription

let package = Package(
    name: "swift-echo",
    platforms: [.macOS(.v12)],
    targets: [
        .executableTarget(name: "swift-echo", path: "Sources/swift-echo"),
    ],
    swiftLanguageModes: [.v6]
)
