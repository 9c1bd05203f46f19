import ConsentKafka
import ConsentPolicy
import ConsentStorage
import Foundation
import Logging
import ServiceLifecycle

/// Consumes one side's outbound topic and, batch by batch: waits for the consent gate,
/// decides every event, and records decisions, disclosures, outbox rows, rejections and the
/// new offsets in one bridge-store transaction. Offsets live in the bridge store.
package struct EventPipeline: Service {
    package let origin: BridgeSide
    package let consumer: KafkaConsumer
    package let consumerGroup: String
    package let gate: ConsentGate
    package let catalog: PolicyCatalog
    package let builder: BridgeRecordBuilder
    package let store: BridgeStore
    package let relaySignal: WakeSignal
    package let retry: RetryPolicy
    package let logger: Logger
    package let metrics: BridgeMetrics

    package init(
        origin: BridgeSide, consumer: KafkaConsumer, consumerGroup: String, gate: ConsentGate, catalog: PolicyCatalog,
        builder: BridgeRecordBuilder, store: BridgeStore, relaySignal: WakeSignal, retry: RetryPolicy, logger: Logger,
        metrics: BridgeMetrics
    ) {
        self.origin = origin
        self.consumer = consumer
        self.consumerGroup = consumerGroup
        self.gate = gate
        self.catalog = catalog
        self.builder = builder
        self.store = store
        self.relaySignal = relaySignal
        self.retry = retry
        self.logger = logger
        self.metrics = metrics
    }

    /// Stored positions for a newly assigned partition set (the consumer's `startingOffsets`).
    package static func startingOffsets(store: BridgeStore, group: String) -> KafkaConsumerConfiguration.StartingOffsets {
        { partitions in
            let stored = try await store.offsets(consumerGroup: group)
            var result: [KafkaTopicPartition: Int64] = [:]
            for offset in stored {
                let key = KafkaTopicPartition(topic: offset.topic, partition: offset.partition)
                if partitions.contains(key) { result[key] = offset.nextOffset }
            }
            return result
        }
    }

    package func run() async throws {
        try await cancelWhenGracefulShutdown {
            for try await batch in consumer.batches {
                try await process(batch)
            }
        }
        await consumer.close()
    }

    /// Decides and records one batch; infrastructure errors are retried, never skipped.
    package func process(_ batch: [KafkaRecord]) async throws {
        try await retry.run("consent gate", logger: logger) { try await gate.waitUntilCurrent() }
        let now = Date()
        let timestamp = Timestamp(date: now)
        var messages: [BridgeMessageRecord] = []
        messages.reserveCapacity(batch.count)
        var offsets: [KafkaTopicPartition: Int64] = [:]
        for record in batch {
            let event = PolicyEvent(
                headers: CloudEventHeaders(kafkaHeaders: record.headers.map { (name: $0.name, value: $0.value ?? []) }),
                body: record.value ?? [],
                sourceTopic: record.topic)
            let decision = PolicyEngine.decide(event: event, consent: gate.keeper, contracts: catalog, now: timestamp, caseReference: CaseReference.random())
            messages.append(try builder.build(record: record, origin: origin, decision: decision, now: now))
            offsets[record.topicPartition] = max(offsets[record.topicPartition] ?? 0, record.offset + 1)
            metrics.recordDecision(decision)
        }
        let bridgeBatch = BridgeBatch(
            messages: messages,
            offsets: offsets.map { ConsumerOffset(consumerGroup: consumerGroup, topic: $0.key.topic, partition: $0.key.partition, nextOffset: $0.value) })
        _ = try await retry.run("record batch", logger: logger) { try await store.record(bridgeBatch) }
        relaySignal.notify()
    }
}
