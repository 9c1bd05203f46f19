package import Foundation

/// Operator metadata about a rejected message, with the payload sealed for the origin side.
///
/// Holds no plaintext content: only ids, type, reason code and the sealed (encrypted) bytes.
package struct RejectionRecord: Sendable, Hashable {
    /// The rejected message's id (same as its decision).
    package var messageID: String
    /// Its `ce_type`, if present.
    package var ceType: String?
    /// Its `ce_source`, if present.
    package var ceSource: String?
    /// Reason code (e.g. `schema-violation`).
    package var reasonCode: String
    /// Payload sealed with the origin side's key (nil when there was no payload).
    package var sealedPayload: [UInt8]?
    /// Which key sealed it.
    package var sealingKeyID: String?
    /// When the message was received.
    package var receivedAt: Date
    /// Its `ce_time`, if present (a redrive decides with it again; nil for rows from before
    /// redrive existed).
    package var ceTime: String?

    /// Creates a rejection record.
    package init(
        messageID: String, ceType: String?, ceSource: String?, reasonCode: String,
        sealedPayload: [UInt8]?, sealingKeyID: String?, receivedAt: Date, ceTime: String? = nil
    ) {
        self.messageID = messageID
        self.ceType = ceType
        self.ceSource = ceSource
        self.reasonCode = reasonCode
        self.sealedPayload = sealedPayload
        self.sealingKeyID = sealingKeyID
        self.receivedAt = receivedAt
        self.ceTime = ceTime
    }
}
