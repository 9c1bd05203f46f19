// swift-tools-version: 6.1
// Swift 6 language mode (the default for tools 6.x) gives complete strict concurrency checking.

import PackageDescription

/// Stricter than the language mode's defaults, for every Swift target: `any` spelled out for
/// existentials, and members visible only from modules a file imports itself.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "ConsentBridge",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "consent-bridge", targets: ["consent-bridge"]),
        // For EPJ and NAV integrators in Swift: typed messages, checked before they are sent.
        .library(name: "ConsentBridgeClient", targets: ["ConsentBridgeClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/vapor/sql-kit", from: "3.36.0"),
        .package(url: "https://github.com/vapor/postgres-kit", from: "2.17.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // Metrics: swift-metrics instruments exported by swift-prometheus.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // W3C trace context: the traceparent of an event is carried to what the bridge emits.
        .package(url: "https://github.com/swift-otel/swift-w3c-trace-context", from: "1.0.0"),
        // The operator service (HTTP API, page, health, metrics); no optional traits.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        // Latency percentiles of the `bench` commands (ConsentBenchmarks only).
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // MARK: Kafka (librdkafka through Debian's librdkafka-dev)
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .target(
            name: "ConsentKafka",
            dependencies: [
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ], swiftSettings: strictSettings
        ),

        // MARK: Pure modules: no Kafka, SQL or HTTP, so they build and test in seconds
        .target(name: "ConsentContracts", swiftSettings: strictSettings),
        // Reads asyncapi.yaml for `contracts check`; Yams stays out of ConsentContracts.
        .target(
            name: "ConsentContractsLint",
            dependencies: ["ConsentContracts", .product(name: "Yams", package: "Yams")], swiftSettings: strictSettings
        ),
        .target(name: "ConsentPolicy", dependencies: ["ConsentContracts"], swiftSettings: strictSettings),
        // The topics' default names come from the contracts' vocabulary.
        .target(name: "ConsentConfiguration", dependencies: ["ConsentContracts"], swiftSettings: strictSettings),

        // MARK: Storage (SQLite embedded default, PostgreSQL in production)
        // SQLite is Debian's libsqlite3 through our own thin wrapper (ConsentStorage/SQLite):
        // prepared statements kept per connection and whole transactions on the store's thread.
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(
            name: "ConsentStorage",
            dependencies: [
                "CSQLite",
                // The wire shapes of the bridge's outputs, decoded by the sinks exactly as encoded.
                "ConsentContracts",
                // The one store-location type (parsed and checked with the configuration).
                "ConsentConfiguration",
                // Sealing what a sink quarantines (R10), with its side's key (AES-256-GCM).
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ], swiftSettings: strictSettings
        ),
        // What the bridge's and the sinks' services share: retrying infrastructure errors.
        .target(
            name: "ConsentResilience",
            dependencies: [
                "ConsentKafka",
                "ConsentStorage",
                .product(name: "Logging", package: "swift-log"),
            ], swiftSettings: strictSettings
        ),
        // The sinks' Kafka loop: each side's topics into that side's store (helper C).
        .target(
            name: "ConsentSinks",
            dependencies: [
                "ConsentKafka",
                "ConsentResilience",
                "ConsentStorage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ], swiftSettings: strictSettings
        ),

        // MARK: The bridge: consent gate, decide, record, relay (the composition of the above)
        .target(
            name: "ConsentBridge",
            dependencies: [
                "ConsentKafka",
                "ConsentResilience",
                "ConsentContracts",
                "ConsentPolicy",
                "ConsentStorage",
                "ConsentSinks",
                "ConsentConfiguration",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ], swiftSettings: strictSettings
        ),

        // MARK: The producer library for integrators (generated typed messages + a producer)
        .target(
            name: "ConsentBridgeClient",
            dependencies: ["ConsentContracts", "ConsentKafka", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),

        // MARK: Simulated EPJ and NAV traffic (demo, trying a deployment)
        .target(
            name: "ConsentSimulation",
            dependencies: [
                "ConsentKafka", "ConsentContracts", "ConsentPolicy", "ConsentConfiguration",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ], swiftSettings: strictSettings
        ),

        // MARK: The operator service: health, metrics, the rejections API and page (Hummingbird)
        .target(
            name: "ConsentOperator",
            dependencies: [
                "ConsentBridge",
                "ConsentContracts",
                "ConsentPolicy",
                "ConsentStorage",
                "ConsentConfiguration",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ], swiftSettings: strictSettings
        ),

        // MARK: Test and benchmark support, kept out of the product's libraries
        // Throwaway PostgreSQL databases (tests, `bench store --engine postgres`).
        .target(
            name: "ConsentBridgeTesting",
            dependencies: [
                "ConsentStorage", .product(name: "Logging", package: "swift-log"),
                .product(name: "SQLKit", package: "sql-kit"),
            ], swiftSettings: strictSettings
        ),
        // The `bench` workloads; imported only by the executable's bench commands (and their tests).
        .target(
            name: "ConsentBenchmarks",
            dependencies: [
                "ConsentBridge", "ConsentBridgeTesting", "ConsentConfiguration", "ConsentContracts", "ConsentKafka",
                "ConsentPolicy", "ConsentResilience",
                "ConsentStorage",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ], swiftSettings: strictSettings
        ),

        // MARK: The executable: argument parsing, logging bootstrap, subcommands
        .executableTarget(
            name: "consent-bridge",
            dependencies: [
                "ConsentSinks",
                "ConsentBridge",
                "ConsentBenchmarks",
                "ConsentOperator",
                "ConsentSimulation",
                "ConsentKafka",
                "ConsentContracts",
                "ConsentContractsLint",
                "ConsentPolicy",
                "ConsentStorage",
                "ConsentConfiguration",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ], swiftSettings: strictSettings,
            // Debian's jemalloc (libjemalloc-dev) serves every allocation of the process: the bridge
            // used ~5% less CPU per event than on glibc's allocator (ProcessAllocator.swift).
            linkerSettings: [.linkedLibrary("jemalloc", .when(platforms: [.linux]))]
        ),

        // MARK: Tests
        .testTarget(
            name: "ConsentBenchmarksTests",
            dependencies: [
                "ConsentBenchmarks", "ConsentBridgeTesting", "ConsentContracts", "ConsentPolicy",
                .product(name: "Logging", package: "swift-log"),
            ], swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ConsentKafkaTests",
            dependencies: ["ConsentKafka", "ConsentBridgeTesting", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ConsentBridgeTests",
            dependencies: [
                "ConsentBridge", "ConsentKafka", "ConsentContracts", "ConsentConfiguration", "ConsentPolicy",
                "ConsentResilience", "ConsentStorage",
                "ConsentOperator", "ConsentSimulation", "ConsentBridgeTesting",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ], swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ConsentOperatorTests",
            dependencies: ["ConsentOperator", "ConsentConfiguration"], swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ConsentBridgeClientTests",
            dependencies: [
                "ConsentBridgeClient", "ConsentKafka", "ConsentContractsLint", "ConsentContracts",
                .product(name: "Logging", package: "swift-log"),
            ], swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ConsentContractsTests", dependencies: ["ConsentContracts"], exclude: ["Fixtures"],
            swiftSettings: strictSettings),  // read by path
        .testTarget(
            name: "ConsentContractsLintTests", dependencies: ["ConsentContractsLint", "ConsentContracts"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "ConsentConfigurationTests", dependencies: ["ConsentConfiguration"], swiftSettings: strictSettings),
        .testTarget(
            name: "ConsentPolicyTests",
            dependencies: [
                "ConsentPolicy",
                "ConsentContracts",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ], swiftSettings: strictSettings
        ),
        // A child process the sink crash test SIGKILLs mid-batch (ConsentStorageTests).
        .executableTarget(
            name: "ConsentStorageSinkProbe", dependencies: ["ConsentStorage", "ConsentContracts"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "ConsentStorageTests",
            dependencies: [
                "ConsentStorage",
                "ConsentBridgeTesting",
                "ConsentContracts",
                "ConsentStorageSinkProbe",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "SQLKit", package: "sql-kit"),
            ], swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ConsentSinksTests",
            dependencies: [
                "ConsentSinks",
                "ConsentBridgeTesting",
                "ConsentContracts",
                "ConsentKafka",
                "ConsentResilience",
                "ConsentStorage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ], swiftSettings: strictSettings
        ),
    ]
)
