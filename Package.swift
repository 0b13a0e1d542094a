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
        // Executable: @main and subcommands only.
        .executableTarget(
            name: "geneva",
            dependencies: [
                "Pipeline", "MailLogs", "Storage", "Correlation", "ThreatIntel", "Reporting", "Indicators", "TelemetryModel", "WireParsing",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
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
    ]
)
