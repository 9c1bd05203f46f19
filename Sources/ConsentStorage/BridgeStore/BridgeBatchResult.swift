/// What a bridge batch write did.
package struct BridgeBatchResult: Sendable, Hashable {
    /// Message ids recorded by this call (with their decisions, disclosures, outbox rows,
    /// rejections), alternative ids included.
    package var recordedMessageIDs: [String]
    /// Message ids already recorded earlier (or twice in the batch) for the same event: nothing
    /// was written for them.
    package var duplicateMessageIDs: [String]
    /// The outbox rows this call wrote, in sequence (publish) order: what the relay publishes
    /// next, without reading it back.
    package var outbox: [StoredOutboxRow] = []
    /// Where in the batch the messages of `duplicateMessageIDs` were, in the same order.
    package var skippedPositions: [Int] = []
    /// Messages recorded under their alternative id, another topic's event holding theirs.
    package var alternates: [AlternateRecording] = []
}

/// A message recorded under its alternative id (`BridgeStore.record`).
package struct AlternateRecording: Sendable, Hashable {
    /// Where in the batch it was.
    package var position: Int
    /// The id it came with (another topic's event is recorded under it).
    package var messageID: String
    /// Its decision as recorded, under the alternative id.
    package var recordedAs: DecisionRecord
}
