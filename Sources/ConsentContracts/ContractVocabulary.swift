/// The closed vocabularies the contracts may use in their `x-*` keywords.
package enum ContractVocabulary {
    /// Consent categories (ARCHITECTURE.md, consent record).
    package static let consentCategories: Set<String> = [
        "identity-and-contact", "ips-participation", "work-relevant-health",
        "treatment-coordination", "work-status",
    ]

    /// Generalizations the anonymizer implements; `keep` = survives the anonymous form unchanged.
    package static let generalizations: Set<String> = ["age-band-10y", "county", "month", "keep"]

    /// NAV-side roles a consent can name (R13).
    package static let recipientRoles: Set<String> = ["ips-job-specialist", "nav-veileder"]

    /// Every topic of docs/architecture.md's table.
    package static let topics: Set<String> = [
        "health.consent", "health.ips.outbound", "nav.ips.outbound", "nav.ips.inbound",
        "health.ips.inbound", "health.ips.receipts", "nav.ips.receipts", "health.disclosures",
        "nav.disclosures", "bridge.rejected", "health.breaches", "nav.breaches",
        "nav.followup.outbound", "nav.followup.inbound", "nav.followup.receipts", "nav.followup.disclosures",
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
            role: "ips-job-specialist", outboundTopic: "nav.followup.outbound", inboundTopic: "nav.followup.inbound",
            receiptsTopic: "nav.followup.receipts", disclosuresTopic: "nav.followup.disclosures",
            receivableCategories: consentCategories),
        NavSystem(
            role: "nav-veileder", outboundTopic: "nav.ips.outbound", inboundTopic: "nav.ips.inbound",
            receiptsTopic: "nav.ips.receipts", disclosuresTopic: "nav.disclosures",
            receivableCategories: ["identity-and-contact", "ips-participation", "work-status"]),
    ]

    /// The IPS job specialist's follow-up solution.
    package static var followUpSolution: NavSystem { navSystems[0] }
    /// The NAV veileder's case system.
    package static var caseSystem: NavSystem { navSystems[1] }

    /// The NAV system `role` works in.
    package static func navSystem(ofRole role: String) -> NavSystem? { navSystems.first { $0.role == role } }
}
