import ConsentContracts
package import ConsentKafka
package import ConsentPolicy
package import ConsentResilience
package import ConsentStorage
import Foundation
package import Logging
import ServiceLifecycle

/// Keeps the consent view current: restores it from the bridge store, then reads
/// `health.consent` from the stored positions (from the beginning the first time) and
/// persists what it read, so a restart does not depend on Kafka's retention.
package struct ConsentViewService: Service {
    /// The key under which the view's topic positions are stored.
    package static let offsetsGroup = "consent-view"

    /// The view records are applied to (the consent gate reads the same one).
    package let keeper: ConsentViewKeeper
    /// Reads `consentTopic`; closed when `run` ends.
    package let consumer: KafkaConsumer
    /// Where the view and its positions are persisted (under `offsetsGroup`).
    package let store: BridgeStore
    /// The consent topic (`health.consent`).
    package let consentTopic: String
    /// Back-off for store errors while saving the view.
    package let retry: RetryPolicy
    /// Logs misaddressed consent records and those without their envelope (counts only) and
    /// store retries.
    package let logger: Logger

    /// Restores the persisted view into `keeper`; call before creating the consumer, whose
    /// starting offsets come from `keeper.positions`.
    package static func restore(
        into keeper: ConsentViewKeeper, from store: BridgeStore, topic: String, retry: RetryPolicy, logger: Logger
    ) async throws {
        // Page by page: rows are decoded and restored before the next page is read, so a
        // national view is never held twice (as rows and as entries).
        var count = 0
        let offsets = try await retry.run("load consent view", logger: logger) {
            count = 0
            keeper.reserveCapacity(try await store.consentViewCount())
            return try await store.loadConsentView(consumerGroup: offsetsGroup, pageSize: 20_000) { page in
                let decoder = JSONDecoder()
                keeper.restore(
                    entries: page.map {
                        (patient: $0.subjectKey, entry: Self.entry(from: $0, schema: keeper.schema, decoder: decoder))
                    },
                    positions: [:])
                count += page.count
            }
        }
        var positions: [Int32: Int64] = [:]
        for offset in offsets where offset.topic == topic { positions[offset.partition] = offset.nextOffset }
        keeper.restore(entries: [], positions: positions)
        // The pages' rows are freed by now; hand their memory back to the system (allocators keep
        // freed blocks for reuse, and a national view's restore leaves ~100 MB of them).
        await store.releaseCache()
        ProcessAllocator.releaseFreedMemory()
        logger.info(
            "Consent view restored",
            metadata: ["consent.patients": "\(count)", "consent.partitions": "\(positions.count)"])
    }

    /// A persisted row as the view's entry. Rows hold the entry itself (state and highest
    /// version) in its compact form (`ConsentView.Entry.persistedBytes(patientID:)`); older rows hold it as
    /// JSON, and the oldest the consent record's bytes, which are applied as a record. Anything
    /// unreadable is an unreadable consent (fail closed), never absent.
    static func entry(from row: ConsentViewEntry, schema: JSONSchema, decoder: JSONDecoder = JSONDecoder())
        -> ConsentView.Entry
    {
        if let entry = ConsentView.Entry(persistedBytes: row.document, patientID: row.subjectKey) { return entry }
        // Rows written before the compact form held the entry as JSON.
        if let entry = try? decoder.decode(ConsentView.Entry.self, from: Data(row.document)) { return entry }
        var view = ConsentView()
        view.apply(key: row.subjectKey, value: row.document, schema: schema)
        return view.entry(for: row.subjectKey)
            ?? ConsentView.Entry(state: .unreadable, highestVersion: row.version >= 0 ? row.version : nil)
    }

    /// The rows that persist `entries`. Every state is persisted with the highest version seen,
    /// tombstones and unreadable records included: a restart never loosens the view (R5).
    package static func rows(_ entries: [String: ConsentView.Entry]) -> [ConsentViewEntry] {
        entries.map { patient, entry in
            let reference: ConsentReference? =
                switch entry.state {
                case .granted(let record), .withdrawn(let record): record.reference
                default: nil
                }
            return ConsentViewEntry(
                subjectKey: patient, consentID: reference?.consentID ?? "\(entry.state.caseName)",
                version: entry.highestVersion ?? -1, document: entry.persistedBytes(patientID: patient))
        }
    }

    let metrics: BridgeMetrics?

    /// The service; `metrics`, when given, counts misaddressed consent records and those
    /// without their envelope.
    package init(
        keeper: ConsentViewKeeper, consumer: KafkaConsumer, store: BridgeStore, consentTopic: String,
        retry: RetryPolicy,
        metrics: BridgeMetrics? = nil, logger: Logger
    ) {
        self.keeper = keeper
        self.metrics = metrics
        self.consumer = consumer
        self.store = store
        self.consentTopic = consentTopic
        self.retry = retry
        self.logger = logger
    }

    /// Starts the consumer, applies consent records as they arrive and persists them beside
    /// (woken by each batch, at least every 500 ms) until graceful shutdown; then persists the
    /// rest and closes the consumer.
    package func run() async throws {
        // Records are applied to the view as soon as they arrive; persisting runs beside it,
        // so a slow store write (SQLite lock, PostgreSQL latency) never delays a withdrawal.
        let changed = WakeSignal()
        let persister = Task {
            while !Task.isCancelled {
                await changed.wait(timeout: .milliseconds(500))
                try await persist()
            }
        }
        do {
            try consumer.start()
            try await cancelWhenGracefulShutdown {
                for try await batch in consumer.batches {
                    let anomalies = keeper.apply(batch)
                    changed.notify()
                    if anomalies.misaddressed > 0 {
                        metrics?.recordMisaddressedConsentRecords(anomalies.misaddressed)
                        logger.warning(
                            "consent record without its person's key: every person it names is treated as without readable consent",
                            metadata: ["consent.misaddressed_records": "\(anomalies.misaddressed)"])
                    }
                    if anomalies.withoutEnvelope > 0 {
                        metrics?.recordConsentRecordsWithoutEnvelope(anomalies.withoutEnvelope)
                        logger.warning(
                            "consent record without the consent contract's CloudEvents headers: every person it names is treated as without readable consent",
                            metadata: ["consent.records_without_envelope": "\(anomalies.withoutEnvelope)"])
                    }
                }
            }
        } catch {
            // As a pipeline does: the process stops on this error, so say why (codes and fixed
            // texts only), e.g. a replaced Kafka cluster, with the command that adopts it.
            if !(error is CancellationError) {
                logger.critical(
                    "Consent view stopped: the process stops so that it can be restarted",
                    metadata: ["error": "\(error)"])
            }
            persister.cancel()
            await consumer.close()
            throw error
        }
        persister.cancel()
        _ = try? await persister.value
        do {
            try await persist()
        } catch is CancellationError {
            // The service group is cancelling (its shutdown ran out of time): what was not saved
            // is read again from the consent topic at the next start. Thrown, it made the
            // process exit 1 although nothing had failed.
        } catch {
            await consumer.close()
            throw error
        }
        await consumer.close()
    }

    /// Saves the changed documents and the new positions in one transaction.
    private func persist() async throws {
        let (entries, positions) = keeper.takeUnsaved()
        let upserts = Self.rows(entries)
        let offsets = positions.map {
            ConsumerOffset(
                consumerGroup: Self.offsetsGroup, topic: consentTopic, partition: $0.key, nextOffset: $0.value)
        }
        do {
            try await retry.run("save consent view", logger: logger) {
                try await store.saveConsentView(upserts: upserts, removals: [], offsets: offsets)
            }
        } catch {
            keeper.returnUnsaved(entries)
            throw error
        }
    }
}
