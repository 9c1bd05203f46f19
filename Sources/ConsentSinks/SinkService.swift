package import ConsentKafka
package import ConsentResilience
package import ConsentStorage
package import Logging
import ServiceLifecycle

/// A side's sink: consumes that side's topics and writes each batch into that side's store,
/// with the consumer offsets in the same database transaction (ARCHITECTURE.md step 6).
///
/// Offsets live in the store, never in Kafka: on every assignment the consumer starts each
/// partition at the offset stored with the last applied batch (the beginning when none), so
/// a crash at any moment replays at most the uncommitted batch, which `ce_id` de-duplicates.
/// A database error is retried (`retry`) until it clears: the batch is applied again, which
/// its offsets and `ce_id`s make safe, and a PostgreSQL store connects afresh meanwhile. A
/// broker error ends `run()` with the error: the service group stops and restarts the process
/// rather than skip records.
package struct SinkService: Service {
    /// Where a sink reports breaches (R10): its notices' `ce_source`, and the cluster of each
    /// breach topic (each party's own).
    package struct BreachNotices: Sendable {
        package var source: String
        package var clients: [String: KafkaClientConfiguration]

        package init(source: String, clients: [String: KafkaClientConfiguration]) {
            self.source = source
            self.clients = clients
        }
    }

    private let store: any SinkStore
    private let client: KafkaClientConfiguration
    private let groupID: String
    private let maxBatchSize: Int
    private let breachNotices: BreachNotices?
    private let onBatch: @Sendable (SinkBatchResult) -> Void
    private let retry: RetryPolicy
    private let cluster: KafkaClusterConfirmation
    private let logger: Logger

    /// Creates a sink for `store`, consuming `store.sinkTopics` in consumer group `groupID`;
    /// `breachNotices` says where to publish the notices of what it quarantines, `onBatch`
    /// sees each applied batch (metrics), `retry` paces the retries of a failing store or
    /// cluster, `cluster` is asked before each batch is applied (the process's guard's: the
    /// cluster is still the one the store's positions were read from; no default, as for
    /// `ConsentGate`).
    package init(
        store: any SinkStore, client: KafkaClientConfiguration, groupID: String, maxBatchSize: Int = 500,
        breachNotices: BreachNotices? = nil, onBatch: @escaping @Sendable (SinkBatchResult) -> Void = { _ in },
        retry: RetryPolicy = RetryPolicy(), cluster: KafkaClusterConfirmation, logger: Logger
    ) {
        self.store = store
        self.client = client
        self.groupID = groupID
        self.maxBatchSize = maxBatchSize
        self.breachNotices = breachNotices
        self.onBatch = onBatch
        self.retry = retry
        self.cluster = cluster
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
                startingOffsets: KafkaConsumerConfiguration.storedPositions(
                    in: store.database, of: store.kind, consumerGroup: groupID)
            ),
            logger: self.logger
        )
        var producers: [String: KafkaProducer] = [:]
        func closeProducers() async {
            for producer in producers.values { await producer.close() }
        }
        do {
            for (topic, client) in self.breachNotices?.clients ?? [:] {
                producers[topic] = try KafkaProducer(configuration: client, logger: self.logger)
            }
            try consumer.start()
        } catch {
            await closeProducers()
            await consumer.close()
            throw error
        }
        let publisher = self.breachNotices.map {
            BreachNoticePublisher(source: $0.source, producers: producers, logger: self.logger)
        }
        self.logger.info("sink started", metadata: ["store.kind": "\(store.kind)", "kafka.group": "\(groupID)"])
        do {
            // A graceful shutdown cancels the loop: a batch being applied still commits (the
            // store's calls finish what they began), but a retry during an outage (the store or
            // the cluster down) ends instead of holding the shutdown until the service group's
            // deadline, which then cancelled every other service, the relay's drain among them.
            try await cancelWhenGracefulShutdown {
                // Notices queued before a crash or a broker outage go out first.
                _ = try await publisher?.publishPending(from: store)
                for try await batch in consumer.batches where !batch.isEmpty {
                    // Records fetched from a cluster replaced under the sink would be applied at
                    // positions counted in another log: asked after the fetch, the cluster says.
                    let fetched = ContinuousClock.now
                    try await self.retry.run("sink's Kafka cluster check", logger: self.logger) {
                        try await self.cluster(askedAtOrAfter: fetched)
                    }
                    let sinkBatch = SinkBatch(consumerGroup: groupID, records: batch.map(Self.sinkRecord))
                    let result = try await self.retry.run(
                        "sink batch", logger: self.logger, isRetried: Self.isInfrastructureError
                    ) {
                        try await store.apply(sinkBatch)
                    }
                    if !result.breaches.isEmpty {
                        guard let publisher else {
                            throw SinkError.breachNoticesNotConfigured
                        }
                        _ = try await publisher.publishPending(from: store)
                    }
                    self.onBatch(result)
                    self.logger.debug(
                        "sink batch applied",
                        metadata: [
                            "store.kind": "\(store.kind)", "sink.stored": "\(result.stored)",
                            "sink.duplicates": "\(result.duplicates)", "sink.refused": "\(result.rejections.count)",
                        ])
                }
            }
        } catch is CancellationError where !Task.isCancelled {
            // The graceful shutdown's cancellation: this service's normal end. What was not
            // applied is read again at the next start (the offsets commit with each batch).
        } catch {
            // The service group stops the process on this error; say why where operators look
            // (a store's or Kafka's error holds codes and fixed texts, never content), e.g. a
            // replaced Kafka cluster, with the command that adopts it.
            if !(error is CancellationError) {
                self.logger.critical(
                    "Sink stopped: the process stops so that it can be restarted",
                    metadata: ["store.kind": "\(store.kind)", "error": "\(error)"])
            }
            await consumer.close()
            await closeProducers()
            throw error
        }
        await consumer.close()
        await closeProducers()
    }

    enum SinkError: Error, CustomStringConvertible {
        case breachNoticesNotConfigured
        var description: String {
            "the sink quarantined a breach but has no breach topics to report it to (R10); it stops rather than stay silent"
        }
    }

    /// Whether a store error may clear by itself (the database unreachable or failing); others
    /// (a closed store, a missing quarantine key) end the sink.
    static func isInfrastructureError(_ error: any Error) -> Bool {
        guard let error = error as? StorageError else { return false }
        return error.code == .connectionFailed || error.code == .queryFailed
    }

    static func sinkRecord(_ record: KafkaRecord) -> SinkRecord {
        SinkRecord(
            topic: record.topic, partition: record.partition, offset: record.offset, key: record.key,
            value: record.value,
            headers: record.headers.map { MessageHeader(name: $0.name, value: $0.value) })
    }
}
