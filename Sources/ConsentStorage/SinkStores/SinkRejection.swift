/// A record a sink refused to store, with a reason code and no content.
package struct SinkRejection: Sendable, Hashable {
    /// Why a record was refused.
    package struct Reason: Hashable, Sendable, CustomStringConvertible {
        /// The stored code text, e.g. `nav-internal-documentation`.
        package let code: String
        private init(_ code: String) { self.code = code }
        package var description: String { self.code }

        /// NAV's own follow-up documentation must never enter the patient journal (R3).
        package static let navInternalDocumentation = Reason("nav-internal-documentation")
        /// The event type is not one this sink accepts on this topic (fail closed).
        package static let unacceptedEventType = Reason("unaccepted-event-type")
        /// The record has no `ce_id` (or `ce_type`) header.
        package static let missingCloudEventHeaders = Reason("missing-cloudevent-headers")
        /// The record has no usable key (subject id).
        package static let missingKey = Reason("missing-key")
        /// A non-consent topic carried a tombstone.
        package static let unexpectedTombstone = Reason("unexpected-tombstone")
        /// The body is not a valid record of its kind.
        package static let invalidBody = Reason("invalid-body")
        /// An inbound record breaks its type's published contract (unknown or malformed members,
        /// not strict JSON): it crossed carrying more, or other, than the contract lets cross.
        package static let contractViolation = Reason("contract-violation")
        /// An inbound record holds content of a consent category the receiving system's role may
        /// never receive (R13: the veileder's case system never holds health information).
        package static let notForRecipientRole = Reason("not-for-recipient-role")
        /// The record came from a topic this sink does not read.
        package static let unexpectedTopic = Reason("unexpected-topic")

        /// Restores a reason read from the database.
        package init(storedCode: String) { self.code = storedCode }
    }

    /// Topic of the refused record.
    package var topic: String
    /// Partition.
    package var partition: Int32
    /// Offset.
    package var offset: Int64
    /// Its `ce_id`, if it had one.
    package var ceID: String?
    /// Its `ce_type`, if it had one.
    package var ceType: String?
    /// Why it was refused.
    package var reason: Reason

    /// Creates a rejection for `record`.
    package init(_ record: SinkRecord, reason: Reason) {
        self.topic = record.topic
        self.partition = record.partition
        self.offset = record.offset
        self.ceID = record.ceID
        self.ceType = record.ceType
        self.reason = reason
    }

    /// Creates a rejection from stored columns.
    package init(topic: String, partition: Int32, offset: Int64, ceID: String?, ceType: String?, reason: Reason) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.ceID = ceID
        self.ceType = ceType
        self.reason = reason
    }
}
