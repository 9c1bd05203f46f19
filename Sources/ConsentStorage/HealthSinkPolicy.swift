/// What the health sink reads and accepts; anything else is refused (fail closed).
///
/// The composition root builds this from the contract catalog (contracts with direction
/// `nav-to-health` → `acceptedInboundTypes`, `nav-internal` → `navInternalTypes`); `standard`
/// mirrors the contracts in `Contracts/schemas` at the time of writing.
package struct HealthSinkPolicy: Sendable, Hashable {
    /// Consent topic (consent history, R4).
    package var consentTopic: String
    /// Filtered NAV→health events awaiting a clinician.
    package var inboundTopic: String
    /// Disclosures made by the health side (R4).
    package var disclosuresTopic: String
    /// `ce_type`s accepted on `inboundTopic`.
    package var acceptedInboundTypes: Set<String>
    /// `ce_type`s of NAV's internal work follow-up documentation: always refused (R3).
    package var navInternalTypes: Set<String>

    /// Creates a policy.
    package init(
        consentTopic: String, inboundTopic: String, disclosuresTopic: String,
        acceptedInboundTypes: Set<String>, navInternalTypes: Set<String>
    ) {
        self.consentTopic = consentTopic
        self.inboundTopic = inboundTopic
        self.disclosuresTopic = disclosuresTopic
        self.acceptedInboundTypes = acceptedInboundTypes
        self.navInternalTypes = navInternalTypes
    }

    /// ARCHITECTURE.md topic names and the contract types of `Contracts/schemas`.
    package static let standard = HealthSinkPolicy(
        consentTopic: "health.consent",
        inboundTopic: "health.ips.inbound",
        disclosuresTopic: "health.disclosures",
        acceptedInboundTypes: [
            "no.ips.nav.candidate-suggestion.v1",
            "no.ips.nav.job-status.v1",
            "no.ips.nav.participation-change.v1",
        ],
        navInternalTypes: ["no.ips.nav.follow-up-note.v1"]
    )

    /// Topics the health sink consumes.
    package var topics: [String] { [self.consentTopic, self.inboundTopic, self.disclosuresTopic] }

    /// Whether `ceType` is NAV follow-up documentation (R3): listed, or any NAV follow-up-note
    /// version, so a new `…follow-up-note.v2` is refused even before the list is updated.
    package func isNavInternal(_ ceType: String) -> Bool {
        self.navInternalTypes.contains(ceType)
            || (ceType.hasPrefix("no.ips.nav.") && ceType.contains("follow-up-note"))
    }
}
