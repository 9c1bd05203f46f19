package import ConsentContracts
import Foundation

/// A side's store as its sink sees it: apply a consumed batch with its offsets, read offsets.
///
/// Implemented by `HealthJournalStore` and `NavSystemStore`; each routes records to its own
/// side's tables only (docs/rules.md R9).
package protocol SinkStore: Sendable {
    /// Which store this is.
    var kind: StoreKind { get }
    /// The open database.
    var database: StoreDatabase { get }
    /// Closes the connection.
    func close() async
    /// The topics this store's sink consumes.
    var sinkTopics: [String] { get }
    /// Applies one batch and its offsets in one transaction, idempotent by `ce_id`.
    func apply(_ batch: SinkBatch) async throws(StorageError) -> SinkBatchResult
    /// The stored offsets of `consumerGroup`.
    func offsets(consumerGroup: String) async throws(StorageError) -> [ConsumerOffset]
    /// Breach notices (R10) queued and not yet published, oldest first.
    func pendingBreachNotices(limit: Int) async throws(StorageError) -> [PendingBreachNotice]
    /// Marks breach notices the broker acknowledged.
    func markBreachNoticesPublished(_ notices: [PendingBreachNotice]) async throws(StorageError)
}

extension HealthJournalStore: SinkStore {
    /// Always `.healthJournal`.
    package var kind: StoreKind { .healthJournal }
    /// The topics of `policy`.
    package var sinkTopics: [String] { self.policy.topics }
}

extension NavSystemStore: SinkStore {
    /// `.navCase` or `.navFollowUp`, as its policy says.
    package var kind: StoreKind { self.policy.kind }
    /// The topics of `policy`.
    package var sinkTopics: [String] { self.policy.topics }
}

/// What both sink stores read the same way: refusals, breaches (R10) and offsets.
extension SinkStore {
    /// Records the sink refused (metadata only).
    package func sinkRejections() async throws(StorageError) -> [SinkRejection] {
        try await self.database.read { sql in try await SinkWriter.rejections(sql) }
    }

    /// What the sink quarantined as breaches (R10), sealed, oldest first.
    package func quarantined() async throws(StorageError) -> [QuarantineEntry] {
        try await self.database.read { sql in try await BreachTables.quarantined(sql) }
    }

    /// The breach notices this side received (from either sink), oldest first (R10).
    package func breachLog() async throws(StorageError) -> [BreachNotice] {
        try await self.database.read { sql in try await BreachTables.log(sql) }
    }

    /// Breach notices not yet published, oldest first.
    package func pendingBreachNotices(limit: Int) async throws(StorageError) -> [PendingBreachNotice] {
        try await self.database.read { sql in try await BreachTables.pending(sql, limit: limit) }
    }

    /// Marks notices the broker acknowledged.
    package func markBreachNoticesPublished(_ notices: [PendingBreachNotice]) async throws(StorageError) {
        try await self.database.transaction { sql in try await BreachTables.markPublished(sql, notices, now: Date()) }
    }

    /// The sink's stored offsets (where to seek on assignment).
    package func offsets(consumerGroup: String) async throws(StorageError) -> [ConsumerOffset] {
        try await self.database.read { sql in try await StoreSQL.offsets(sql, consumerGroup: consumerGroup) }
    }
}
