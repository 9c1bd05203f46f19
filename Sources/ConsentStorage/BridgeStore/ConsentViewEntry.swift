/// The latest consent for one subject, as persisted by the bridge's consent view.
package struct ConsentViewEntry: Sendable, Hashable {
    /// The Kafka key of `health.consent` (the patient id).
    package var subjectKey: String
    /// Consent id.
    package var consentID: String
    /// Monotonically increasing version; a lower version never overwrites a higher one.
    package var version: Int64
    /// The consent record as received (JSON bytes).
    package var document: [UInt8]

    /// Creates an entry.
    package init(subjectKey: String, consentID: String, version: Int64, document: [UInt8]) {
        self.subjectKey = subjectKey
        self.consentID = consentID
        self.version = version
        self.document = document
    }
}
