package import Foundation

/// One consent record (or tombstone) as kept in the health journal's consent history (R4).
package struct ConsentHistoryEntry: Sendable, Hashable {
    /// `ce_id` of the consent message (synthetic `tombstone:topic:partition:offset` for tombstones).
    package var ceID: String
    /// Patient id.
    package var patientID: String
    /// Consent id (nil for a tombstone).
    package var consentID: String?
    /// Version (nil for a tombstone).
    package var version: Int64?
    /// `granted`, `withdrawn`, … or `tombstone`.
    package var status: String
    /// The consent record as received.
    package var document: [UInt8]?
    /// `recordedAt` from the record, as sent.
    package var recordedAt: String?
    /// When the sink stored it.
    package var receivedAt: Date
}
