import ConsentKafka
import ConsentStorage
import Logging
import ServiceLifecycle

/// A side's sink: consumes that side's topics and writes each batch into that side's store,
/// with the consumer offsets in the same database transaction (ARCHITECTURE.md step 6).
///
/// Offsets live in the store, never in Kafka: on every assignment the consumer starts each
/// partition at the offset stored with the last applied batch (the beginning when none), so
/// a crash at any moment replays at most the uncommitted batch, which `ce_id` de-duplicates.
/// Infrastructure errors (broker, database) end `run()` with the error: the service group
/// stops and restarts the process rather than skip records.
package struct SinkService: Service {
    private let store: any SinkStore
    private let client: KafkaClientConfiguration
    private let groupID: String
    private let maxBatchSize: Int
    private let logger: Logger

    /// Creates a sink for `store`, consuming `store.sinkTopics` in consumer group `groupID`.
    package init(store: any SinkStore, client: KafkaClientConfiguration, groupID: String, maxBatchSize: Int = 500, logger: Logger) {
        self.store = store
        self.client = client
        self.groupID = groupID
        self.maxBatchSize = maxBatchSize
        self.logger = logger
    }

    /// Consumes until graceful shutdown (returns) or a broker/database error (throws).
    package func run() async throws {
        let store = self.store
        let groupID = self.groupID
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                client: self.client,
                groupID: groupID,
                topics: store.sinkTopics,
                maxBatchSize: self.maxBatchSize,
                startingOffsets: { partitions in
                    let stored = try await store.offsets(consumerGroup: groupID)
                    var starts: [KafkaTopicPartition: Int64] = [:]
                    for partition in partitions {
                        if let offset = stored.first(where: { $0.topic == partition.topic && $0.partition == partition.partition }) {
                            starts[partition] = offset.nextOffset
                        }
                    }
                    return starts
                }
            ),
            logger: self.logger
        )
        self.logger.info("sink started", metadata: ["store.kind": "\(store.kind)", "kafka.group": "\(groupID)"])
        do {
            try await withGracefulShutdownHandler {
                for try await batch in consumer.batches where !batch.isEmpty {
                    let result = try await store.apply(SinkBatch(consumerGroup: groupID, records: batch.map(Self.sinkRecord)))
                    self.logger.debug(
                        "sink batch applied",
                        metadata: [
                            "store.kind": "\(store.kind)", "sink.stored": "\(result.stored)",
                            "sink.duplicates": "\(result.duplicates)", "sink.refused": "\(result.rejections.count)",
                        ])
                }
            } onGracefulShutdown: {
                Task { await consumer.close() }
            }
        } catch {
            await consumer.close()
            throw error
        }
        await consumer.close()
    }

    static func sinkRecord(_ record: KafkaRecord) -> SinkRecord {
        SinkRecord(
            topic: record.topic, partition: record.partition, offset: record.offset, key: record.key, value: record.value,
            headers: record.headers.map { MessageHeader(name: $0.name, value: $0.value) })
    }
}
