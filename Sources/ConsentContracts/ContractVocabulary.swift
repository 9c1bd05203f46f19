/// The closed vocabularies the contracts may use in their `x-*` keywords.
package enum ContractVocabulary {
    /// Consent categories (ARCHITECTURE.md, consent record).
    package static let consentCategories: Set<String> = [
        "identity-and-contact", "ips-participation", "work-relevant-health",
        "treatment-coordination", "work-status",
    ]

    /// The consent contract's `ce_type`: what a record on `health.consent` must carry to be read
    /// as a consent (`CloudEventHeaders.isConsentEnvelope`).
    package static let consentType = "no.ips.health.consent.v1"

    /// Generalizations the anonymizer implements; `keep` = survives the anonymous form unchanged,
    /// `drop` = an operational field left out of it (a name a sender types: it could carry
    /// anything, and the ids beside it say the same).
    package static let generalizations: Set<String> = ["age-band-10y", "county", "month", "keep", "drop"]

    /// NAV-side roles a consent can name (R13).
    package static let recipientRoles: Set<String> = ["ips-job-specialist", "nav-veileder"]

    /// The recipient a disclosure notice names for what a NAV role sent to the health service
    /// (`recipientRoles` of a `nav-to-health` notice): the patient's treatment team, whose
    /// journal (EPJ) receives it. Never the NAV role that sent it, which a NAV→health contract's
    /// `x-recipient-roles` names (the role whose consent coverage is checked). A consent never
    /// names it: it names the NAV roles the health service may exchange with.
    package static let healthRecipientRole = "treatment-team"

    /// The topics' default names, as Contracts/asyncapi.yaml and docs/architecture.md's table
    /// name them: the one place the product spells them (a deployment may rename each with the
    /// `topics.*` keys; `TopicNames.defaults` is built from these).
    package enum Topic {
        /// Compacted consent records, keyed by person.
        package static let healthConsent = "health.consent"
        /// EPJ → bridge.
        package static let healthOutbound = "health.ips.outbound"
        /// NAV's case system → bridge.
        package static let navOutbound = "nav.ips.outbound"
        /// Bridge → NAV's case system.
        package static let navInbound = "nav.ips.inbound"
        /// Bridge → EPJ.
        package static let healthInbound = "health.ips.inbound"
        /// Receipts for the EPJ's events.
        package static let healthReceipts = "health.ips.receipts"
        /// Receipts for NAV's case system's events.
        package static let navReceipts = "nav.ips.receipts"
        /// What health disclosed to NAV (R4).
        package static let healthDisclosures = "health.disclosures"
        /// What NAV's case system disclosed to health.
        package static let navDisclosures = "nav.disclosures"
        /// Rejected messages: metadata and the sealed payload.
        package static let rejected = "bridge.rejected"
        /// Breach notices for the health side (R10).
        package static let healthBreaches = "health.breaches"
        /// Breach notices for the NAV side (R10).
        package static let navBreaches = "nav.breaches"
        /// The IPS job specialist's follow-up solution → bridge (R9).
        package static let followUpOutbound = "nav.followup.outbound"
        /// Bridge → the follow-up solution.
        package static let followUpInbound = "nav.followup.inbound"
        /// Receipts for the follow-up solution's events.
        package static let followUpReceipts = "nav.followup.receipts"
        /// What the follow-up solution disclosed to health.
        package static let followUpDisclosures = "nav.followup.disclosures"
    }

    /// Every topic of docs/architecture.md's table.
    package static let topics: Set<String> = [
        Topic.healthConsent, Topic.healthOutbound, Topic.navOutbound, Topic.navInbound, Topic.healthInbound,
        Topic.healthReceipts, Topic.navReceipts, Topic.healthDisclosures, Topic.navDisclosures, Topic.rejected,
        Topic.healthBreaches, Topic.navBreaches, Topic.followUpOutbound, Topic.followUpInbound,
        Topic.followUpReceipts, Topic.followUpDisclosures,
    ]

    /// One of the two NAV-side systems (R9): each NAV role documents in a system of its own,
    /// which publishes on its own outbound topic and receives on its own inbound topic.
    package struct NavSystem: Sendable, Hashable {
        /// The role that works in the system (`x-recipient-roles`).
        package var role: String
        /// Where the system publishes its events (the bridge reads them from here).
        package var outboundTopic: String
        /// Where the bridge forwards what crosses to this role.
        package var inboundTopic: String
        /// Where the bridge publishes receipts for the system's events.
        package var receiptsTopic: String
        /// Where the bridge logs what the system disclosed to health.
        package var disclosuresTopic: String
        /// The consent categories this role may receive at all, whatever a consent names (R8,
        /// R13): the veileder's case system never receives health information.
        package var receivableCategories: Set<String>
    }

    /// The NAV veileder's case system (fagsystem) and the IPS job specialist's follow-up
    /// solution: seed 001 gives the job specialist no automatic access to NAV's case system.
    package static let navSystems: [NavSystem] = [
        NavSystem(
            role: "ips-job-specialist", outboundTopic: Topic.followUpOutbound, inboundTopic: Topic.followUpInbound,
            receiptsTopic: Topic.followUpReceipts, disclosuresTopic: Topic.followUpDisclosures,
            receivableCategories: consentCategories),
        NavSystem(
            role: "nav-veileder", outboundTopic: Topic.navOutbound, inboundTopic: Topic.navInbound,
            receiptsTopic: Topic.navReceipts, disclosuresTopic: Topic.navDisclosures,
            receivableCategories: ["identity-and-contact", "ips-participation", "work-status"]),
    ]

    /// The IPS job specialist's follow-up solution.
    package static var followUpSolution: NavSystem { navSystems[0] }
    /// The NAV veileder's case system.
    package static var caseSystem: NavSystem { navSystems[1] }

    /// The NAV system `role` works in.
    package static func navSystem(ofRole role: String) -> NavSystem? { navSystems.first { $0.role == role } }
}
