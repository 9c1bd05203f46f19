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

    /// Every topic of ARCHITECTURE.md's table.
    package static let topics: Set<String> = [
        "health.consent", "health.ips.outbound", "nav.ips.outbound", "nav.ips.inbound",
        "health.ips.inbound", "health.ips.receipts", "nav.ips.receipts", "health.disclosures",
        "nav.disclosures", "bridge.rejected", "health.breaches", "nav.breaches",
    ]
}
