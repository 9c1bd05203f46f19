/// Everything the bridge records about one consumed message, written together.
package struct BridgeMessageRecord: Sendable, Hashable {
    /// The decision (its `messageID` is the dedup key).
    package var decision: DecisionRecord
    /// Disclosures this decision makes (append-only).
    package var disclosures: [DisclosureRecord]
    /// Messages to publish (filtered payloads, receipts, disclosure messages).
    package var outbox: [OutboxRecord]
    /// Rejection metadata, for rejected messages.
    package var rejection: RejectionRecord?

    /// Creates the record of one message.
    package init(
        decision: DecisionRecord, disclosures: [DisclosureRecord] = [], outbox: [OutboxRecord] = [],
        rejection: RejectionRecord? = nil
    ) {
        self.decision = decision
        self.disclosures = disclosures
        self.outbox = outbox
        self.rejection = rejection
    }
}
