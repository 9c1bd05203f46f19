import ArgumentParser
import ConsentBridge
import ConsentConfiguration
import ConsentKafka
import ConsentOperator
import Foundation
import Logging
import ServiceLifecycle

/// `consent-bridge run`: the bridge (and, by role, the sinks) as services in one group.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the bridge and/or the sinks (roles); SIGTERM/SIGINT drain in-flight work and stop cleanly.",
        discussion: "Configuration: command line > CONSENT_BRIDGE_* environment > --config file > defaults (docs/configuration.md). With --embedded true it also runs the embedded broker and uses SQLite files under --data-directory."
    )

    @OptionGroup var input: ConfigurationInput

    func run() async throws {
        let configuration = try input.load()
        LoggingBootstrap.bootstrap(level: Logger.Level(argument: configuration.log.level) ?? .info)
        let logger = Logger(label: "consent-bridge")
        logger.notice("Starting", metadata: ["bridge.roles": "\(configuration.roles.sorted().map(\.rawValue))", "bridge.embedded": "\(configuration.isEmbedded)"])
        if let directory = Optional(configuration.dataDirectory), configuration.isEmbedded {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
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
            tuning = EmbeddedKafkaTuning.consumerProperties
        } else {
            endpoints = .init(
                health: Self.client(configuration.healthKafka, name: "health"),
                nav: Self.client(configuration.navKafka, name: "nav"))
        }

        let application = try await BridgeApplication.make(configuration: configuration, kafka: endpoints, consumerTuning: tuning, logger: logger)
        // Stores and clients close after the services using them, before the broker stops.
        services.append(.init(service: ClosingService(application.shutdown)))
        services += application.services.map { .init(service: $0) }
        services.append(.init(service: Self.operatorService(configuration, application, logger: logger)))

        var groupConfiguration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(30)
        groupConfiguration.maximumCancellationDuration = .seconds(10)
        let group = ServiceGroup(configuration: groupConfiguration)
        try await group.run()
        logger.notice("Stopped")
    }

    /// The embedded broker with every topic of the contracts, under the configured names.
    static func embeddedCluster(_ configuration: BridgeConfiguration, logger: Logger) throws -> EmbeddedKafkaCluster {
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: logger)
        for topic in try ProjectTopics.load(contractsDirectory: configuration.contractsDirectory, names: configuration.topics) {
            try cluster.createTopic(topic.name, partitions: topic.partitions)
        }
        return cluster
    }

    /// The operator service of `application`, on the configured address.
    static func operatorService(
        _ configuration: BridgeConfiguration, _ application: BridgeApplication, logger: Logger, onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> OperatorService {
        OperatorService(
            address: configuration.httpListenAddress,
            dependencies: .init(
                readiness: application.readiness, metrics: application.metrics, store: application.bridgeStore, redrive: application.redrive,
                topics: configuration.topics, tokens: OperatorTokens(configuration.operatorAccess)),
            logger: logger, onListening: onListening)
    }

    /// A Kafka client for one side's cluster; a side no role uses gets an unused placeholder.
    private static func client(_ connection: KafkaConnection?, name: String) -> KafkaClientConfiguration {
        guard let connection else { return KafkaClientConfiguration(bootstrapServers: "127.0.0.1:9") }
        var properties = connection.librdkafkaProperties
        properties.removeValue(forKey: "bootstrap.servers")
        return KafkaClientConfiguration(bootstrapServers: connection.bootstrapServers, clientID: "consent-bridge-\(name)", properties: properties)
    }
}

/// Consumer settings that make librdkafka 2.0.2's mock cluster serve consumers quickly
/// (docs/kafka.md): its Fetch handler holds an empty fetch for the full `fetch.wait.max.ms`.
enum EmbeddedKafkaTuning {
    static let consumerProperties: [String: String] = [
        "fetch.wait.max.ms": "10",
        "session.timeout.ms": "6000",
        "heartbeat.interval.ms": "500",
    ]
}
