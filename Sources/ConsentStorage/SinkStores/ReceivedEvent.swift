package import Foundation

/// An event a sink stored as received (filtered by the bridge, or the side's own event).
package struct ReceivedEvent: Sendable, Hashable {
    /// `ce_id` (primary key: the sink's idempotency key).
    package var ceID: String
    /// `ce_type`.
    package var ceType: String
    /// `ce_source`.
    package var ceSource: String?
    /// `ce_time` as sent.
    package var ceTime: String?
    /// Kafka key as text (subject id or pseudonym).
    package var subjectKey: String?
    /// Body as received.
    package var payload: [UInt8]
    /// Where it was consumed.
    package var topic: String
    /// Partition.
    package var partition: Int32
    /// Offset.
    package var offset: Int64
    /// When the sink stored it.
    package var receivedAt: Date
}
