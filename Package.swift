// swift-tools-version:6.1
import PackageDescription

// Targets and arrows follow docs/architecture.md. Leaves (WireParsing,
// TelemetryModel) import the standard library only; scripts/check-leaves.sh
// enforces it in CI.
let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "Geneva",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "geneva", targets: ["geneva"]),
        // For Benchmarks/ (its own package).
        .library(name: "PatternMatcher", targets: ["PatternMatcher"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: [.defaults, "YAML"]),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // Leaves
        .target(name: "WireParsing", swiftSettings: strict),
        .target(name: "TelemetryModel", swiftSettings: strict),
        .target(name: "PatternMatcher", swiftSettings: strict),
        // Decoders
        .target(name: "PacketDecoding", dependencies: ["WireParsing"], swiftSettings: strict),
        .target(name: "AppProtocols", dependencies: ["WireParsing"], swiftSettings: strict),
        .target(name: "MailLogs", dependencies: ["WireParsing", "TelemetryModel"], swiftSettings: strict),
        // Domain
        .target(name: "Indicators", dependencies: ["TelemetryModel", "PatternMatcher"], swiftSettings: strict),
        .target(name: "ThreatIntel", dependencies: ["TelemetryModel", "WireParsing"], swiftSettings: strict),
        .target(name: "Reporting", dependencies: ["TelemetryModel", "WireParsing"], swiftSettings: strict),
        // Clustering of sightings into campaigns (pure; Storage feeds it).
        .target(name: "Correlation", dependencies: ["TelemetryModel"], swiftSettings: strict),
        // Edges
        // zlib (apt: zlib1g-dev), imported privately by Pipeline for .gz inputs.
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "Storage",
            dependencies: [
                "TelemetryModel", "WireParsing", "Correlation", .product(name: "GRDB", package: "GRDB.swift"),
                // The report's one-pass scan steps SQLite directly (ReportScan.swift).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                // The PostgreSQL store (PostgresStore.swift).
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: strict),
        .target(
            name: "Pipeline",
            dependencies: ["PacketDecoding", "AppProtocols", "MailLogs", "Indicators", "TelemetryModel", "WireParsing", "CZlib"],
            swiftSettings: strict),
        // The HTTP API of `geneva serve` (docs/api.yaml).
        .target(
            name: "API",
            dependencies: [
                "Storage", "Reporting", "TelemetryModel", "WireParsing",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
                // SHA-256 of bearer tokens.
                .product(name: "Crypto", package: "swift-crypto"),
                // The API's own counters (swift-metrics; `serve` exports them).
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strict),
        // libpcap (apt: libpcap-dev) for the sensor's live capture.
        .systemLibrary(name: "CPcap", providers: [.apt(["libpcap-dev"])]),
        // `geneva sensor`: live capture, watched directories, followed logs,
        // intel reload, spool and shipping (docs/operations.md).
        .target(
            name: "Sensor",
            dependencies: [
                "Pipeline", "MailLogs", "Indicators", "Storage", "ThreatIntel", "TelemetryModel", "WireParsing", "CPcap",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // Shipping to `geneva serve` (POST /v1/sightings).
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict),
        // Executable: @main and subcommands only.
        .executableTarget(
            name: "geneva",
            dependencies: [
                "Pipeline", "MailLogs", "Storage", "Correlation", "ThreatIntel", "Reporting", "Indicators", "TelemetryModel", "WireParsing", "API",
                "Sensor",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // `geneva serve` settings: YAML file and environment.
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Hummingbird", package: "hummingbird"),
                // `/metrics` of `geneva serve` in Prometheus' text format.
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict),

        // Test helpers (capture builders, seeded randomness, fixture paths).
        .target(name: "GenevaTestSupport", path: "Tests/Support", swiftSettings: strict),
        // The matcher benchmark driver of ../shared/anchors/matcher (PROJECT_CMD).
        .executableTarget(name: "geneva-matchbench", dependencies: ["PatternMatcher", "WireParsing"], swiftSettings: strict),
        // Store benchmark of issue 7 (ingest rate, report time at 10M sightings).
        .executableTarget(name: "geneva-storebench", dependencies: ["Storage", "TelemetryModel"], swiftSettings: strict),
        // libFuzzer harness over every decoder (docs/decoders.md); an ordinary
        // build is a corpus replayer.
        .executableTarget(
            name: "geneva-fuzz",
            dependencies: ["PacketDecoding", "AppProtocols", "MailLogs", "ThreatIntel", "TelemetryModel", "WireParsing"],
            swiftSettings: strict),

        .testTarget(name: "WireParsingTests", dependencies: ["GenevaTestSupport", "WireParsing"], swiftSettings: strict),
        .testTarget(name: "PatternMatcherTests", dependencies: ["GenevaTestSupport", "PatternMatcher"], swiftSettings: strict),
        .testTarget(name: "TelemetryModelTests", dependencies: ["GenevaTestSupport", "TelemetryModel"], swiftSettings: strict),
        .testTarget(name: "PacketDecodingTests", dependencies: ["GenevaTestSupport", "PacketDecoding", "WireParsing"], swiftSettings: strict),
        .testTarget(name: "AppProtocolsTests", dependencies: ["GenevaTestSupport", "AppProtocols", "WireParsing"], swiftSettings: strict),
        .testTarget(name: "MailLogsTests", dependencies: ["GenevaTestSupport", "MailLogs", "TelemetryModel", "WireParsing"], swiftSettings: strict),
        .testTarget(name: "IndicatorsTests", dependencies: ["GenevaTestSupport", "Indicators", "PatternMatcher", "TelemetryModel"], swiftSettings: strict),
        .testTarget(name: "ThreatIntelTests", dependencies: ["GenevaTestSupport", "ThreatIntel", "TelemetryModel", "WireParsing"], swiftSettings: strict),
        .testTarget(name: "ReportingTests", dependencies: ["GenevaTestSupport", "Reporting", "TelemetryModel", "WireParsing"], swiftSettings: strict),
        .testTarget(name: "StorageTests", dependencies: ["GenevaTestSupport", "Storage", "Correlation", "ThreatIntel", "TelemetryModel"], swiftSettings: strict),
        .testTarget(name: "CorrelationTests", dependencies: ["GenevaTestSupport", "Correlation"], swiftSettings: strict),
        .testTarget(name: "PipelineTests", dependencies: ["GenevaTestSupport", "Pipeline", "PacketDecoding", "MailLogs", "Indicators", "TelemetryModel"], swiftSettings: strict),
        .testTarget(name: "GenevaCLITests", dependencies: ["GenevaTestSupport", "geneva", "Storage"], swiftSettings: strict),
        .testTarget(name: "APITests", dependencies: ["GenevaTestSupport", "API", "Storage", "TelemetryModel", "geneva"], swiftSettings: strict),
        .testTarget(
            name: "SensorTests",
            dependencies: [
                "GenevaTestSupport", "Sensor", "Storage", "MailLogs", "TelemetryModel", "geneva", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
    ]
)
