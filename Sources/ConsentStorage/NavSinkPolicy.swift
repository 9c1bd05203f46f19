/// What the NAV sink reads and accepts; anything else is refused (fail closed).
///
/// Built by the composition root from the contract catalog (`health-to-nav` contracts →
/// `acceptedInboundTypes`; contracts whose source topic is NAV's outbound topic →
/// `ownDocumentationTypes`); `standard` mirrors `Contracts/schemas` at the time of writing.
package struct NavSinkPolicy: Sendable, Hashable {
    /// Filtered health→NAV events.
    package var inboundTopic: String
    /// NAV's own outbound events: its follow-up documentation.
    package var ownOutboundTopic: String
    /// Disclosures made by the NAV side.
    package var disclosuresTopic: String
    /// `ce_type`s accepted on `inboundTopic`.
    package var acceptedInboundTypes: Set<String>
    /// `ce_type`s accepted on `ownOutboundTopic`.
    package var ownDocumentationTypes: Set<String>

    /// Creates a policy.
    package init(
        inboundTopic: String, ownOutboundTopic: String, disclosuresTopic: String,
        acceptedInboundTypes: Set<String>, ownDocumentationTypes: Set<String>
    ) {
        self.inboundTopic = inboundTopic
        self.ownOutboundTopic = ownOutboundTopic
        self.disclosuresTopic = disclosuresTopic
        self.acceptedInboundTypes = acceptedInboundTypes
        self.ownDocumentationTypes = ownDocumentationTypes
    }

    /// ARCHITECTURE.md topic names and the contract types of `Contracts/schemas`.
    package static let standard = NavSinkPolicy(
        inboundTopic: "nav.ips.inbound",
        ownOutboundTopic: "nav.ips.outbound",
        disclosuresTopic: "nav.disclosures",
        acceptedInboundTypes: [
            "no.ips.health.case-discussion.v1",
            "no.ips.health.participation-change.v1",
            "no.ips.health.referral.v1",
            "no.ips.health.treatment-coordination.v1",
            "no.ips.health.work-relevant-health.v1",
        ],
        ownDocumentationTypes: [
            "no.ips.nav.candidate-suggestion.v1",
            "no.ips.nav.follow-up-note.v1",
            "no.ips.nav.job-status.v1",
            "no.ips.nav.participation-change.v1",
        ]
    )

    /// Topics the NAV sink consumes.
    package var topics: [String] { [self.inboundTopic, self.ownOutboundTopic, self.disclosuresTopic] }
}
