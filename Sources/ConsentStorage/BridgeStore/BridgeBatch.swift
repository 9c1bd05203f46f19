/// One batch of the bridge's work, written in one transaction (issue 4 item 3).
package struct BridgeBatch: Sendable, Hashable {
    /// The messages decided in this batch.
    package var messages: [BridgeMessageRecord]
    /// The consumer offsets reached by this batch (only moved forward).
    package var offsets: [ConsumerOffset]

    /// Creates a batch.
    package init(messages: [BridgeMessageRecord], offsets: [ConsumerOffset]) {
        self.messages = messages
        self.offsets = offsets
    }
}
