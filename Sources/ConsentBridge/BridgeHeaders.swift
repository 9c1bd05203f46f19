import ConsentContracts

/// Header names the bridge writes. CloudEvents binary mode plus provenance.
package enum BridgeHeaders {
    package static let id = CloudEventHeaders.Name.id
    package static let type = CloudEventHeaders.Name.type
    package static let source = CloudEventHeaders.Name.source
    package static let time = CloudEventHeaders.Name.time
    package static let specVersion = CloudEventHeaders.Name.specVersion
    package static let contentType = CloudEventHeaders.Name.contentType

    /// Provenance of a forwarded event: which consent, policy and decision let it cross.
    package static let consentID = "cb_consent_id"
    package static let consentVersion = "cb_consent_version"
    package static let policyVersion = "cb_policy_version"
    package static let decisionID = "cb_decision_id"
    package static let removedFieldCount = "cb_removed_fields"
    package static let bridgeVersion = "cb_bridge_version"

    /// W3C trace context (`00-<trace id>-<span id>-<flags>`), carried as a child span.
    package static let traceParent = "traceparent"

    /// Headers only the relay reads (to re-check consent before publishing); they are
    /// stripped before anything is published.
    package static let internalPrefix = "cb-internal-"
    package static let internalSubject = "cb-internal-subject"
    package static let internalCategories = "cb-internal-categories"
    package static let internalDirection = "cb-internal-direction"
    /// On a disclosure notice or receipt: the identified disclosure it reports on (the relay
    /// publishes it as withheld when it withholds that disclosure).
    package static let internalFollows = "cb-internal-follows"

    /// `ce_source` of everything the bridge writes.
    package static let bridgeSource = "urn:no:ips:consent-bridge"
}
