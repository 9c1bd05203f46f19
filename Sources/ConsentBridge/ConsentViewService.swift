import ConsentKafka
import ConsentPolicy
import ConsentStorage
import Logging
import ServiceLifecycle

/// Keeps the consent view current: restores it from the bridge store, then reads
/// `health.consent` from the stored positions (from the beginning the first time) and
/// persists what it read, so a restart does not depend on Kafka's retention.
package struct ConsentViewService: Service {
    /// The key under which the view's topic positions are stored.
    package static let offsetsGroup = "consent-view"

    package let keeper: ConsentViewKeeper
    package let consumer: KafkaConsumer
    package let store: BridgeStore
    package let consentTopic: String
    package let retry: RetryPolicy
    package let logger: Logger

    /// Restores the persisted view into `keeper`; call before creating the consumer, whose
    /// starting offsets come from `keeper.positions`.
    package static func restore(into keeper: ConsentViewKeeper, from store: BridgeStore, topic: String, retry: RetryPolicy, logger: Logger) async throws {
        let loaded = try await retry.run("load consent view", logger: logger) {
            try await store.loadConsentView(consumerGroup: offsetsGroup)
        }
        let documents = loaded.entries.map { ConsentViewKeeper.ConsentDocument(patientKey: $0.subjectKey, bytes: $0.document) }
        var positions: [Int32: Int64] = [:]
        for offset in loaded.offsets where offset.topic == topic { positions[offset.partition] = offset.nextOffset }
        keeper.restore(documents: documents, positions: positions)
        logger.info("Consent view restored", metadata: ["consent.patients": "\(documents.count)", "consent.partitions": "\(positions.count)"])
    }

    package init(keeper: ConsentViewKeeper, consumer: KafkaConsumer, store: BridgeStore, consentTopic: String, retry: RetryPolicy, logger: Logger) {
        self.keeper = keeper
        self.consumer = consumer
        self.store = store
        self.consentTopic = consentTopic
        self.retry = retry
        self.logger = logger
    }

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
            try await cancelWhenGracefulShutdown {
                for try await batch in consumer.batches {
                    keeper.apply(batch)
                    changed.notify()
                }
            }
        } catch {
            persister.cancel()
            await consumer.close()
            throw error
        }
        persister.cancel()
        _ = try? await persister.value
        try await persist()
        await consumer.close()
    }

    /// Saves the changed documents and the new positions in one transaction.
    private func persist() async throws {
        let (documents, positions) = keeper.takeUnsaved()
        var upserts: [ConsentViewEntry] = []
        var removals: [String] = []
        for document in documents {
            guard let bytes = document.bytes else {
                removals.append(document.patientKey)
                continue
            }
            let reference: ConsentReference? =
                switch keeper.state(for: document.patientKey) {
                case .granted(let record), .withdrawn(let record): record.reference
                default: nil
                }
            upserts.append(ConsentViewEntry(
                subjectKey: document.patientKey, consentID: reference?.consentID ?? "unreadable",
                version: reference?.version ?? -1, document: bytes))
        }
        let offsets = positions.map {
            ConsumerOffset(consumerGroup: Self.offsetsGroup, topic: consentTopic, partition: $0.key, nextOffset: $0.value)
        }
        do {
            try await retry.run("save consent view", logger: logger) {
                try await store.saveConsentView(upserts: upserts, removals: removals, offsets: offsets)
            }
        } catch {
            keeper.returnUnsaved(documents)
            throw error
        }
    }
}
