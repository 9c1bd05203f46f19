import ConsentConfiguration
import ConsentKafka
import ConsentPolicy
import ConsentStorage
import Foundation
import Logging
import ServiceLifecycle

/// Publishes outbox rows in order with the idempotent producers and marks them published
/// after the delivery reports.
///
/// Before publishing an identified disclosure it re-checks the consent: if it was withdrawn
/// (or no longer covers what is disclosed) since the decision, the row is withheld and the
/// disclosure marked so (R5). Broker or database errors halt and retry.
package struct OutboxRelay: Service {
    package let store: BridgeStore
    package let producers: [BridgeSide: KafkaProducer]
    package let topics: TopicNames
    package let consent: ConsentViewKeeper
    package let signal: WakeSignal
    package let retry: RetryPolicy
    package let logger: Logger
    package let metrics: BridgeMetrics
    package let batchSize: Int
    /// Where each side's cluster is, for reading back after a crash.
    package let clients: [BridgeSide: KafkaClientConfiguration]

    package init(
        store: BridgeStore, producers: [BridgeSide: KafkaProducer], clients: [BridgeSide: KafkaClientConfiguration], topics: TopicNames,
        consent: ConsentViewKeeper, signal: WakeSignal, retry: RetryPolicy, logger: Logger, metrics: BridgeMetrics, batchSize: Int = 500
    ) {
        self.clients = clients
        self.store = store
        self.producers = producers
        self.topics = topics
        self.consent = consent
        self.signal = signal
        self.retry = retry
        self.logger = logger
        self.metrics = metrics
        self.batchSize = batchSize
    }

    package func run() async throws {
        // Rows published before a crash but not marked: find them instead of sending twice.
        let topics = self.topics
        let recovery = PublishedRowRecovery(store: store, clients: clients, sideOfTopic: { topics.side(of: $0) }, logger: logger)
        _ = try await retry.run("relay recovery", logger: logger) { try await recovery.run() }
        // Keep publishing until shutdown, then drain what is already recorded.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let published = (try? await retry.run("relay outbox", logger: logger) { try await publishPending() }) ?? 0
                if published == 0 { await signal.wait(timeout: .milliseconds(200)) }
            }
        }
        while let published = try? await publishPending(), published > 0 {}
        for producer in producers.values { await producer.close() }
    }

    /// Publishes (or withholds) one page of pending rows; returns how many rows it handled.
    @discardableResult
    package func publishPending() async throws -> Int {
        let rows = try await store.pendingOutbox(limit: batchSize)
        if rows.isEmpty { return 0 }
        let now = Timestamp.now()
        var toPublish: [StoredOutboxRow] = []
        for row in rows {
            if let reason = withholdingReason(for: row.record, now: now) {
                try await store.markWithheld(sequence: row.sequence, reasonCode: reason)
                metrics.recordWithheld()
                logger.notice("Disclosure withheld: consent changed since the decision", metadata: ["bridge.reason": "\(reason)"])
            } else {
                toPublish.append(row)
            }
        }
        // One send per cluster; rows keep their order within each.
        var published: [Int64] = []
        var positions: [KafkaTopicPartition: Int64] = [:]
        func mark() async throws {
            try await store.markPublished(
                sequences: published,
                positions: positions.map {
                    ConsumerOffset(consumerGroup: BridgeStore.relayPublishedGroup, topic: $0.key.topic, partition: $0.key.partition, nextOffset: $0.value)
                })
        }
        for side in BridgeSide.allCases {
            let rowsForSide = toPublish.filter { topics.side(of: $0.record.topic) == side }
            if rowsForSide.isEmpty { continue }
            guard let producer = producers[side] else { throw RelayError.noProducer }
            let results = try await producer.send(rowsForSide.map(Self.kafkaRecord))
            for (row, result) in zip(rowsForSide, results) {
                switch result {
                case .success(let report):
                    published.append(row.sequence)
                    let partition = KafkaTopicPartition(topic: report.topic, partition: report.partition)
                    positions[partition] = max(positions[partition] ?? 0, report.offset + 1)
                case .failure(let error):
                    // Mark what made it; the rest stays pending and is retried.
                    try await mark()
                    metrics.recordRelayError()
                    throw error
                }
            }
        }
        try await mark()
        metrics.recordPublished(published.count)
        return rows.count
    }

    /// Why an identified disclosure may no longer be published, or `nil` when it may.
    private func withholdingReason(for record: OutboxRecord, now: Timestamp) -> String? {
        guard record.disclosureID != nil else { return nil }
        let header = { (name: String) in record.headers.first { $0.name == name }?.value.map { String(decoding: $0, as: UTF8.self) } }
        guard let subject = header(BridgeHeaders.internalSubject) else { return "consent-unverifiable" }
        guard case .granted(let current) = consent.state(for: subject) else { return "consent-withdrawn" }
        if let until = current.validUntil, now >= until { return "consent-expired" }
        let disclosed = (header(BridgeHeaders.internalCategories) ?? "").split(separator: ",").compactMap { ConsentCategories(name: String($0)) }
        if !disclosed.allSatisfy({ current.categories.contains($0) }) { return "consent-scope-narrowed" }
        return nil
    }

    /// The Kafka record for an outbox row, without the relay's internal headers.
    private static func kafkaRecord(_ row: StoredOutboxRow) -> KafkaOutgoingRecord {
        KafkaOutgoingRecord(
            topic: row.record.topic, key: row.record.key, value: row.record.payload,
            headers: row.record.headers.filter { !$0.name.hasPrefix(BridgeHeaders.internalPrefix) }.map { KafkaHeader(name: $0.name, value: $0.value) })
    }

    package enum RelayError: Error, CustomStringConvertible {
        case noProducer
        package var description: String { "no producer for the topic's side" }
    }
}
