/// A side's store as its sink sees it: apply a consumed batch with its offsets, read offsets.
///
/// Implemented by `HealthJournalStore` and `NavCaseStore`; each routes records to its own
/// side's tables only (DOMAIN.md R9).
package protocol SinkStore: Sendable {
    /// Which store this is.
    var kind: StoreKind { get }
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

extension NavCaseStore: SinkStore {
    /// Always `.navCase`.
    package var kind: StoreKind { .navCase }
    /// The topics of `policy`.
    package var sinkTopics: [String] { self.policy.topics }
}
