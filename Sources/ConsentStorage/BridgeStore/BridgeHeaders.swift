import ConsentContracts

/// Header names the bridge writes. CloudEvents binary mode plus provenance.
package enum BridgeHeaders {
    /// `ce_id`: the event's id (a forwarded copy carries the bridge's own id, not the sender's).
    package static let id = CloudEventHeaders.Name.id
    /// `ce_type`: the event type, which names its contract.
    package static let type = CloudEventHeaders.Name.type
    /// `ce_source`: who wrote the event (`bridgeSource` for what the bridge writes).
    package static let source = CloudEventHeaders.Name.source
    /// `ce_time`: when the event occurred.
    package static let time = CloudEventHeaders.Name.time
    /// `ce_specversion`: the CloudEvents version (`1.0`).
    package static let specVersion = CloudEventHeaders.Name.specVersion
    /// `content-type` of the payload (`application/json`).
    package static let contentType = CloudEventHeaders.Name.contentType

    /// Provenance of a forwarded event: which consent, policy and decision let it cross.
    package static let consentID = "cb_consent_id"
    /// The version of the consent in `consentID`; only on copies bound for the health side (R15).
    package static let consentVersion = "cb_consent_version"
    /// The contract catalog version (`sha256:…`) the event was decided under.
    package static let policyVersion = "cb_policy_version"
    /// The id of the decision that let the event cross. Nothing in the bridge writes it at present.
    package static let decisionID = "cb_decision_id"
    /// How many fields the policy removed before the event crossed (health-bound copies only, R15).
    package static let removedFieldCount = "cb_removed_fields"
    /// The version of the bridge that forwarded the event.
    package static let bridgeVersion = "cb_bridge_version"

    /// W3C trace context (`00-<trace id>-<span id>-<flags>`), carried as a child span.
    package static let traceParent = "traceparent"

    /// Headers only the relay reads (to re-check consent before publishing); they are
    /// stripped before anything is published.
    package static let internalPrefix = "cb-internal-"
    /// The person a copy is about, for the relay's consent re-check: an identified copy's, and
    /// an anonymous copy's (withheld when a withdrawal has closed the anonymous path, R5).
    package static let internalSubject = "cb-internal-subject"
    /// The consent categories the disclosure holds, comma-separated, for the relay's re-check.
    package static let internalCategories = "cb-internal-categories"
    /// The disclosure's direction as its contract gives it (e.g. `health-to-nav`).
    package static let internalDirection = "cb-internal-direction"
    /// On a disclosure notice or receipt: the identified disclosure it reports on (the relay
    /// publishes it as withheld when it withholds that disclosure).
    package static let internalFollows = "cb-internal-follows"

    /// `ce_source` of everything the bridge writes.
    package static let bridgeSource = "urn:no:ips:consent-bridge"
}
