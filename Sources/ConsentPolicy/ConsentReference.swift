/// Which consent (id and version) a decision relied on, for the disclosure record (R4).
package struct ConsentReference: Sendable, Hashable, Codable, CustomStringConvertible {
    /// EPJ's consent id.
    package var consentID: String
    /// The version in force at the decision.
    package var version: Int64

    /// A reference.
    package init(consentID: String, version: Int64) {
        self.consentID = consentID
        self.version = version
    }

    package var description: String { "\(consentID) v\(version)" }
}
