import ArgumentParser
import ConsentContractsLint
import ConsentKafka
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// `consent-bridge broker`: the embedded Kafka-protocol broker with the project's topics.
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract:
            "Run the embedded Kafka-protocol broker (librdkafka's mock cluster) on 127.0.0.1 with the project's topics.",
        discussion: """
            Prints one line `bootstrap: HOST:PORT[,HOST:PORT…]` and runs until SIGINT or SIGTERM.
            Any Kafka client (kcat, confluent-kafka) can produce and consume through it.
            With --port, that port is a stable bootstrap address forwarded to the brokers, whose
            own ports are chosen by librdkafka.
            """
    )

    @Option(help: "Stable bootstrap port on 127.0.0.1 (0 or omitted: the brokers' own ports).")
    var port: UInt16?

    @Option(help: "Number of brokers.")
    var brokers: Int = 1

    @Option(help: "Directory holding asyncapi.yaml, whose channels are the topics to create.")
    var contracts: String = "Contracts"

    @Option(
        help: "Partitions of every topic (default: as asyncapi.yaml says). The mock keeps at most ~5 MiB per partition."
    )
    var partitions: Int?

    @Option(help: "Log level (trace, debug, info, notice, warning, error, critical).")
    var logLevel: String = "notice"

    func validate() throws {
        guard (1...16).contains(brokers) else { throw ValidationError("--brokers must be between 1 and 16") }
        if let partitions, !(1...1000).contains(partitions) {
            throw ValidationError("--partitions must be between 1 and 1000")
        }
        guard Logger.Level(argument: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        LoggingBootstrap.bootstrap(level: Logger.Level(argument: logLevel) ?? .notice)
        let logger = Logger(label: "consent-bridge.broker")
        let cluster = try EmbeddedKafkaCluster(brokers: brokers, logger: logger)
        let topics = try ProjectTopics.load(contractsDirectory: contracts)
        for topic in topics {
            try cluster.createTopic(
                topic.name, partitions: partitions ?? topic.partitions, replicationFactor: min(brokers, 3))
        }
        var forwarder: LoopbackForwarder? = nil
        var bootstrap = cluster.bootstrapServers
        if let port, port != 0 {
            let firstBrokerPort = UInt16(
                bootstrap.split(separator: ",")[0].split(separator: ":").last.flatMap { UInt16($0) } ?? 0)
            forwarder = try LoopbackForwarder(port: port, targetPort: firstBrokerPort, logger: logger)
            bootstrap = "127.0.0.1:\(port)"
        }
        print("bootstrap: \(bootstrap)")
        fflush(nil)  // all streams: `stdout` itself is not concurrency-safe to name
        logger.notice(
            "Embedded broker ready", metadata: ["kafka.brokers": "\(brokers)", "kafka.topics": "\(topics.count)"])
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: EmbeddedKafkaService(cluster: cluster, forwarder: forwarder))],
                gracefulShutdownSignals: [.sigterm, .sigint],
                cancellationSignals: [],
                logger: logger
            )
        )
        try await group.run()
    }
}
