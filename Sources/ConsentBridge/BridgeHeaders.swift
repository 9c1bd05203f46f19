/// Header names the bridge writes. CloudEvents binary mode plus provenance.
package enum BridgeHeaders {
    package static let id = "ce_id"
    package static let type = "ce_type"
    package static let source = "ce_source"
    package static let time = "ce_time"
    package static let specVersion = "ce_specversion"
    package static let contentType = "content-type"

    /// Provenance of a forwarded event: which consent, policy and decision let it cross.
    package static let consentID = "cb_consent_id"
    package static let consentVersion = "cb_consent_version"
    package static let policyVersion = "cb_policy_version"
    package static let decisionID = "cb_decision_id"
    package static let removedFieldCount = "cb_removed_fields"
    package static let bridgeVersion = "cb_bridge_version"

    /// Headers only the relay reads (to re-check consent before publishing); they are
    /// stripped before anything is published.
    package static let internalPrefix = "cb-internal-"
    package static let internalSubject = "cb-internal-subject"
    package static let internalCategories = "cb-internal-categories"
    package static let internalDirection = "cb-internal-direction"

    /// `ce_source` of everything the bridge writes.
    package static let bridgeSource = "urn:no:ips:consent-bridge"
}
