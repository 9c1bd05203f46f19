package import Foundation

/// An outbox row as read back by the relay, with its sequence number (publish order).
package struct StoredOutboxRow: Sendable, Hashable {
    /// Publish order; unique, increasing.
    package var sequence: Int64
    /// The decided message this row came from.
    package var messageID: String
    /// The message to publish.
    package var record: OutboxRecord
    /// When it was recorded.
    package var createdAt: Date

    package init(sequence: Int64, messageID: String, record: OutboxRecord, createdAt: Date) {
        self.sequence = sequence
        self.messageID = messageID
        self.record = record
        self.createdAt = createdAt
    }
}
