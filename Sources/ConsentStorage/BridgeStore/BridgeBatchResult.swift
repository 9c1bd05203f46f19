/// What a bridge batch write did.
package struct BridgeBatchResult: Sendable, Hashable {
    /// Message ids recorded by this call (with their decisions, disclosures, outbox rows, rejections).
    package var recordedMessageIDs: [String]
    /// Message ids already recorded earlier (or twice in the batch): nothing was written for them.
    package var duplicateMessageIDs: [String]
    /// The outbox rows this call wrote, in sequence (publish) order: what the relay publishes
    /// next, without reading it back.
    package var outbox: [StoredOutboxRow] = []
}
