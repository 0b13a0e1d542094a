// swift-tools-version:6.1
// Benchmarks of Geneva as their own package (swift-nio's layout): allocation
// thresholds checked in under Thresholds/, run by Benchmarks/run.sh.
import PackageDescription

let package = Package(
    name: "GenevaBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Geneva", path: "../"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "MatcherBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "PatternMatcher", package: "Geneva"),
            ],
            path: "Benchmarks/MatcherBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
