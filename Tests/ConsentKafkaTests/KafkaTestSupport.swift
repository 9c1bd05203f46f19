import ConsentKafka
import Foundation
import Logging
import Synchronization

/// Helpers shared by the Kafka tests: an embedded cluster per test and tuned client settings.
enum KafkaTestSupport {
    static let logger: Logger = {
        var logger = Logger(label: "consent-kafka-tests")
        logger.logLevel = .warning
        return logger
    }()

    /// A fresh embedded cluster with `topic` created.
    static func cluster(brokers: Int = 1, topics: [String: Int]) throws -> EmbeddedKafkaCluster {
        let cluster = try EmbeddedKafkaCluster(brokers: brokers, logger: logger)
        for (topic, partitions) in topics.sorted(by: { $0.key < $1.key }) {
            try cluster.createTopic(topic, partitions: partitions, replicationFactor: brokers)
        }
        return cluster
    }

    /// Consumer settings that make the mock cluster serve consumers quickly (docs/kafka.md).
    static let consumerTuning = EmbeddedKafkaCluster.consumerTuning

    /// How long a test waits for records to arrive before it fails. A deadline, not a timing
    /// assertion: a passing test goes on as soon as they are there. Under the parallel suite on
    /// two cores a consumer's first group join took over 20 s once (CI of `7157f6f`), where it
    /// takes ~3 s alone.
    static let arrivalDeadline: Duration = .seconds(90)

    static func consumer(
        _ cluster: EmbeddedKafkaCluster, group: String, topics: [String],
        startingOffsets: @escaping KafkaConsumerConfiguration.StartingOffsets = { _, _ in [:] }
    ) throws -> KafkaConsumer {
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                client: KafkaClientConfiguration(
                    bootstrapServers: cluster.bootstrapServers, properties: consumerTuning),
                groupID: group,
                topics: topics,
                startingOffsets: startingOffsets
            ),
            logger: logger
        )
        try consumer.start()
        return consumer
    }

    static func producer(_ cluster: EmbeddedKafkaCluster, properties: [String: String] = [:]) throws -> KafkaProducer {
        try KafkaProducer(
            configuration: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers, properties: properties),
            logger: logger)
    }

    /// The first `count` records of `topic`, read by a consumer of a group of its own, which
    /// is closed before they are returned (fewer if they do not all arrive by the deadline:
    /// the caller's expectations on them fail then).
    static func read(_ count: Int, from topic: String, on cluster: EmbeddedKafkaCluster) async throws -> [KafkaRecord] {
        let consumer = try Self.consumer(cluster, group: Self.unique("g"), topics: [topic])
        let collector = RecordCollector()
        let reader = consumer.drain(into: collector)
        _ = await collector.waitFor(count: count, timeout: Self.arrivalDeadline)
        await consumer.close()
        try await reader.value
        return collector.all
    }

    /// A unique name, so tests never see each other's data.
    static func unique(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8))" }
}

/// Collects records read by a consumer task, so a test can wait for a count.
final class RecordCollector: Sendable {
    private let records = Mutex<[KafkaRecord]>([])

    func append(_ batch: [KafkaRecord]) { records.withLock { $0.append(contentsOf: batch) } }
    var all: [KafkaRecord] { records.withLock { $0 } }
    var count: Int { records.withLock { $0.count } }

    /// Waits until at least `count` records arrived or `timeout` passed; returns whether they did.
    func waitFor(count: Int, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while self.count < count {
            if ContinuousClock.now > deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }
}

extension KafkaConsumer {
    /// Reads batches into `collector` until the consumer closes.
    func drain(into collector: RecordCollector) -> Task<Void, any Error> {
        Task {
            for try await batch in batches { collector.append(batch) }
        }
    }
}
