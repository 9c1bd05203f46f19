import ArgumentParser
import ConsentBridge
import ConsentConfiguration
import ConsentContractsLint
import ConsentKafka
import ConsentOperator
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// `consent-bridge run`: the bridge (and, by role, the sinks) as services in one group.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the bridge and/or the sinks (roles); SIGTERM/SIGINT drain in-flight work and stop cleanly.",
        discussion:
            "Configuration: command line > CONSENT_BRIDGE_* environment > --config file > defaults (docs/configuration.md). With --embedded true it also runs the embedded broker and uses SQLite files under --data-directory."
    )

    @Flag(
        help:
            "With --embedded true: move SQLite stores left by an earlier embedded run aside (to <file>.previous-<time>) and start fresh."
    )
    var fresh = false

    @OptionGroup var input: ConfigurationInput

    func run() async throws {
        let configuration = try input.load()
        LoggingBootstrap.bootstrap(configuration.log)
        let logger = Logger(label: "consent-bridge")
        logger.notice(
            "Starting",
            metadata: [
                "bridge.roles": "\(configuration.roles.sorted().map(\.rawValue))",
                "bridge.embedded": "\(configuration.isEmbedded)",
                // Operators comparing figures between hosts need it (jemalloc unless the link was lost).
                "process.allocator": "\(ProcessAllocator.name)",
            ])
        if configuration.isEmbedded {
            try FileManager.default.createDirectory(
                atPath: configuration.dataDirectory, withIntermediateDirectories: true)
            try Self.setAsideEarlierEmbeddedStores(configuration, fresh: fresh)
        }

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        let endpoints: BridgeApplication.KafkaEndpoints
        var tuning: [String: String] = [:]
        if configuration.isEmbedded {
            let cluster = try Self.embeddedCluster(configuration, logger: logger)
            print("bootstrap: \(cluster.bootstrapServers)")
            fflush(nil)  // all streams: `stdout` itself is not concurrency-safe to name
            // First in the group, so it is shut down last (the group stops in reverse order).
            services.append(.init(service: EmbeddedKafkaService(cluster: cluster)))
            let client = KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers)
            endpoints = .init(health: client, nav: client)
            tuning = EmbeddedKafkaCluster.consumerTuning
        } else {
            // A sink-only process may leave the other side's cluster unset: it then reaches the
            // other party's breach topic through its own (R10; one cluster for both sides).
            endpoints = .init(
                health: Self.client(configuration.healthKafka ?? configuration.navKafka, name: "health"),
                nav: Self.client(configuration.navKafka ?? configuration.healthKafka, name: "nav"))
        }

        let application = try await BridgeApplication.make(
            configuration: configuration, kafka: endpoints, consumerTuning: tuning, logger: logger)
        // Stores and clients close after the services using them, before the broker stops.
        services.append(.init(service: ClosingService(application.shutdown)))
        services += application.services.map { .init(service: $0) }
        services.append(.init(service: Self.operatorService(configuration, application, logger: logger)))

        var groupConfiguration = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(30)
        groupConfiguration.maximumCancellationDuration = .seconds(10)
        let group = ServiceGroup(configuration: groupConfiguration)
        try await group.run()
        logger.notice("Stopped")
    }

    /// The embedded broker starts empty every run, so stores from an earlier embedded run hold
    /// offsets past the end of its topics (their consumers would wait for records that never
    /// come, or skip new ones). Such stores are refused with an explanation, or moved aside
    /// with `--fresh`.
    static func setAsideEarlierEmbeddedStores(_ configuration: BridgeConfiguration, fresh: Bool) throws {
        let files = [
            configuration.bridgeStore, configuration.healthStore, configuration.navStore, configuration.followUpStore,
        ].compactMap {
            location -> String? in
            if case .sqlite(let path)? = location, FileManager.default.fileExists(atPath: path) { return path }
            return nil
        }
        guard !files.isEmpty else { return }
        guard fresh else {
            throw EarlierEmbeddedStores(
                directory: configuration.dataDirectory, files: files.map { ($0 as NSString).lastPathComponent })
        }
        let suffix = ".previous-" + ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        for file in files {
            for companion in [file, file + "-wal", file + "-shm"]
            where FileManager.default.fileExists(atPath: companion) {
                try FileManager.default.moveItem(atPath: companion, toPath: companion + suffix)
            }
        }
        FileHandle.standardError.write(Data("earlier embedded stores moved aside (\(suffix)); starting fresh\n".utf8))
    }

    /// The embedded broker with every topic of the contracts, under the configured names.
    static func embeddedCluster(_ configuration: BridgeConfiguration, logger: Logger) throws -> EmbeddedKafkaCluster {
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: logger)
        for topic in try ProjectTopics.load(
            contractsDirectory: configuration.contractsDirectory, names: configuration.topics)
        {
            try cluster.createTopic(topic.name, partitions: topic.partitions)
        }
        return cluster
    }

    /// The operator service of `application`, on the configured address.
    static func operatorService(
        _ configuration: BridgeConfiguration, _ application: BridgeApplication, logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> OperatorService {
        OperatorService(
            address: configuration.httpListenAddress,
            dependencies: .init(
                readiness: application.readiness, metrics: application.metrics, store: application.bridgeStore,
                redrive: application.redrive,
                topics: configuration.topics, tokens: OperatorTokens(configuration.operatorAccess),
                sources: application.operatorSources),
            logger: logger, onListening: onListening)
    }

    /// A Kafka client for one side's cluster; a side no role uses gets an unused placeholder.
    static func client(_ connection: KafkaConnection?, name: String) -> KafkaClientConfiguration {
        guard let connection else { return KafkaClientConfiguration(bootstrapServers: "127.0.0.1:9") }
        var properties = connection.librdkafkaProperties
        properties.removeValue(forKey: "bootstrap.servers")
        return KafkaClientConfiguration(
            bootstrapServers: connection.bootstrapServers, clientID: "consent-bridge-\(name)", properties: properties)
    }
}

/// Stores from an earlier embedded run where a new one would start (see `--fresh`).
struct EarlierEmbeddedStores: Error, CustomStringConvertible {
    let directory: String
    let files: [String]

    var description: String {
        "\(directory) holds stores from an earlier embedded run (\(files.joined(separator: ", "))). The embedded broker starts empty, "
            + "so their Kafka positions no longer match it. Start fresh with --fresh (moves them aside), or choose another --data-directory."
    }
}
