// swift-tools-version:6.0
// CPU per HTTP request of the Matrix adapter's own `CurlHTTPClient` (and of the URLSession client it
// replaced). Built apart from the main package so the test suite never compiles it; run it with
// `Benchmarks/http/run` (see BENCHMARKS.md).
import PackageDescription

let package = Package(
    name: "http-bench",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "fabrique", path: "../..")],
    targets: [
        .executableTarget(
            name: "client-bench",
            dependencies: [.product(name: "MatrixAdapter", package: "fabrique")]),
    ],
    swiftLanguageModes: [.v6]
)
