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
/// Rows come from the handoff (just committed by a pipeline) or, at start, after an error,
/// after a handoff overflow and when idle, from the store. A store read covers everything
/// committed before it (one connection: sequence numbers follow commit order), so handed rows
/// at or below the highest sequence read are skipped; nothing is published twice or missed.
///
/// Before publishing an identified disclosure it re-checks the consent: if it was withdrawn
/// (or no longer covers what is disclosed) since the decision, the row is withheld and the
/// disclosure marked so (R5). Broker or database errors halt and retry.
package struct OutboxRelay: Service {
    package let store: BridgeStore
    package let producers: [BridgeSide: KafkaProducer]
    package let topics: TopicNames
    package let consent: ConsentViewKeeper
    package let handoff: OutboxHandoff
    package let retry: RetryPolicy
    package let logger: Logger
    package let metrics: BridgeMetrics
    package let batchSize: Int
    /// Where each side's cluster is, for reading back after a crash.
    package let clients: [BridgeSide: KafkaClientConfiguration]

    package init(
        store: BridgeStore, producers: [BridgeSide: KafkaProducer], clients: [BridgeSide: KafkaClientConfiguration], topics: TopicNames,
        consent: ConsentViewKeeper, handoff: OutboxHandoff, retry: RetryPolicy, logger: Logger, metrics: BridgeMetrics, batchSize: Int = 500
    ) {
        self.clients = clients
        self.store = store
        self.producers = producers
        self.topics = topics
        self.consent = consent
        self.handoff = handoff
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
            var cursor = Cursor()
            while !Task.isCancelled {
                let handled = (try? await retry.run("relay outbox", logger: logger) { try await step(&cursor) }) ?? 0
                if handled == 0, await !handoff.signal.wait(timeout: .milliseconds(200)) {
                    // Idle: look in the store for rows nobody handed over (e.g. a batch whose
                    // commit succeeded although the store reported an error, then re-recorded).
                    cursor.readsStore = true
                }
            }
        }
        while let published = try? await publishPending(), published > 0 {}
        for producer in producers.values { await producer.close() }
    }

    /// Where the relay takes its next rows from.
    private struct Cursor {
        /// Read pending rows from the store (until a page comes back short).
        var readsStore = true
        /// Highest sequence read from the store: handed rows at or below it were in that read.
        var highestRead: Int64 = 0
    }

    /// Publishes the next rows, from the handoff or the store; returns how many it handled.
    private func step(_ cursor: inout Cursor) async throws -> Int {
        if !cursor.readsStore {
            switch handoff.take() {
            case .overflowed:
                logger.notice("Relay fell behind the pipelines; reading the outbox from the store")
            case .rows(let rows):
                let fresh = rows.filter { $0.sequence > cursor.highestRead }
                if fresh.isEmpty { return 0 }
                // If publishing fails, what is left is pending in the store: read it from there.
                cursor.readsStore = true
                try await publish(fresh)
                cursor.readsStore = false
                return fresh.count
            }
        }
        // Everything handed so far is committed, so the read below covers it.
        _ = handoff.take()
        let rows = try await store.pendingOutbox(limit: batchSize)
        if let last = rows.last { cursor.highestRead = max(cursor.highestRead, last.sequence) }
        try await publish(rows)
        cursor.readsStore = rows.count == batchSize
        return rows.count
    }

    /// Publishes (or withholds) one page of pending rows read from the store; returns how many
    /// rows it handled.
    @discardableResult
    package func publishPending() async throws -> Int {
        let rows = try await store.pendingOutbox(limit: batchSize)
        try await publish(rows)
        return rows.count
    }

    /// Publishes (or withholds) `rows`, in order, and marks them.
    private func publish(_ rows: [StoredOutboxRow]) async throws {
        if rows.isEmpty { return }
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
            let start = ContinuousClock.now
            defer { metrics.recordStage(.mark, items: published.count, duration: ContinuousClock.now - start) }
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
            let results = try await metrics.timed(.publish, items: rowsForSide.count) { try await producer.send(rowsForSide.map(Self.kafkaRecord)) }
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
