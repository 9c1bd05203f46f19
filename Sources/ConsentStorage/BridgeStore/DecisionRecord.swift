package import Foundation

/// The bridge's decision about one consumed message; its `messageID` is the dedup key.
package struct DecisionRecord: Sendable, Hashable {
    /// What the bridge did with the message.
    package enum Outcome: String, Sendable, Hashable, CaseIterable {
        /// Forwarded (filtered to what the consent covers).
        case forward
        /// Forwarded in anonymous form (R2).
        case forwardAnonymous = "forward-anonymous"
        /// Not forwarded.
        case reject
    }

    /// The message's `ce_id` (or a synthetic id for messages without one).
    package var messageID: String
    /// Topic the message was consumed from.
    package var sourceTopic: String
    /// Partition it was consumed from.
    package var partition: Int32
    /// Its offset.
    package var offset: Int64
    /// Its `ce_type`, if it had one.
    package var ceType: String?
    /// The outcome.
    package var outcome: Outcome
    /// Reason code (e.g. `no-consent`); never free text with data.
    package var reasonCode: String?
    /// Consent the decision was based on, if any.
    package var consentID: String?
    /// Version of that consent.
    package var consentVersion: Int64?
    /// Bridge version that decided.
    package var bridgeVersion: String
    /// When it was decided.
    package var decidedAt: Date

    /// Creates a decision.
    package init(
        messageID: String, sourceTopic: String, partition: Int32, offset: Int64, ceType: String?,
        outcome: Outcome, reasonCode: String?, consentID: String?, consentVersion: Int64?,
        bridgeVersion: String, decidedAt: Date
    ) {
        self.messageID = messageID
        self.sourceTopic = sourceTopic
        self.partition = partition
        self.offset = offset
        self.ceType = ceType
        self.outcome = outcome
        self.reasonCode = reasonCode
        self.consentID = consentID
        self.consentVersion = consentVersion
        self.bridgeVersion = bridgeVersion
        self.decidedAt = decidedAt
    }
}
