package import ConsentContracts

/// What the health sink reads and accepts; anything else is refused (fail closed).
///
/// Built from the contract catalog (`init(catalog:)`): what the bridge forwards to
/// `health.ips.inbound` (NAV→health contracts and their anonymous forms) is accepted there,
/// NAV-internal contracts are refused by name, and disclosure notices are validated against the
/// published disclosure contract. `standard` is the same for the catalog in `Contracts/` at the
/// time of writing (a test holds the two equal).
package struct HealthSinkPolicy: Sendable {
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
    /// The published disclosure contract; notices that fail it are refused (when set).
    package var disclosureSchema: JSONSchema?
    /// This side's breach topic (R10): notices from either sink, filed in `breach_log`.
    package var breachesTopic: String = ContractVocabulary.Topic.healthBreaches
    /// The published breach-notice contract; notices that fail it are refused (when set).
    package var breachSchema: JSONSchema?
    /// The consent contract (when set): a consent record that breaks it is recorded as
    /// unreadable, as the bridge reads it (no consent in force for its person, R5), never under
    /// the status it claims.
    package var consentSchema: JSONSchema?
    /// The published contract of each accepted inbound type (`init(catalog:)`): an inbound
    /// record that breaks it is quarantined as `contract-violation` (R10). Nil only for a
    /// policy made without the catalog (stores opened to read, not to consume).
    package var inboundSchemas: [String: JSONSchema]?
    /// The paths of the fields each accepted inbound type's contract classifies `nav-internal`
    /// (NAV's own follow-up documentation, such as a job status's `followUpAssessment`): the
    /// bridge never lets them cross, so one arriving here is a breach (R3, R10).
    package var navInternalFields: [String: [[String]]] = [:]

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

    /// The policy the contract catalog implies, on ARCHITECTURE.md's topic names.
    package init(catalog: ContractCatalog) {
        var accepted: Set<String> = []
        var navInternal: Set<String> = []
        for contract in catalog.contracts {
            switch contract.direction {
            case .navToHealth:
                accepted.insert(contract.ceType)
                if let anonymous = catalog.anonymousForm(of: contract) { accepted.insert(anonymous.ceType) }
            case .navInternal:
                navInternal.insert(contract.ceType)
            default:
                break
            }
        }
        self.init(
            consentTopic: Self.standard.consentTopic, inboundTopic: Self.standard.inboundTopic,
            disclosuresTopic: Self.standard.disclosuresTopic, acceptedInboundTypes: accepted,
            navInternalTypes: navInternal)
        self.disclosureSchema = catalog.contract(forCEType: DisclosureNotice.ceType)?.schema
        self.breachSchema = catalog.contract(forCEType: BreachNotice.ceType)?.schema
        self.consentSchema = catalog.contracts.first { $0.direction == .consent }?.schema
        self.inboundSchemas = Dictionary(
            uniqueKeysWithValues: accepted.compactMap { type in
                catalog.contract(forCEType: type).map { (type, $0.schema) }
            })
        for type in accepted {
            let paths = catalog.contract(forCEType: type)?.fields.filter { $0.classification == .navInternal }
                .map(\.path)
            if let paths, !paths.isEmpty { self.navInternalFields[type] = paths }
        }
    }

    /// ARCHITECTURE.md topic names and the contract types of `Contracts/schemas`.
    package static let standard = HealthSinkPolicy(
        consentTopic: ContractVocabulary.Topic.healthConsent,
        inboundTopic: ContractVocabulary.Topic.healthInbound,
        disclosuresTopic: ContractVocabulary.Topic.healthDisclosures,
        acceptedInboundTypes: [
            "no.ips.nav.candidate-suggestion.v1",
            "no.ips.nav.candidate-suggestion.anonymous.v1",
            "no.ips.nav.job-status.v1",
            "no.ips.nav.participation-change.v1",
        ],
        navInternalTypes: ["no.ips.nav.follow-up-note.v1"]
    )

    /// Topics the health sink consumes.
    package var topics: [String] { [self.consentTopic, self.inboundTopic, self.disclosuresTopic, self.breachesTopic] }

    /// Whether `ceType` is NAV follow-up documentation (R3): listed, or any NAV follow-up-note
    /// version, so a new `…follow-up-note.v2` is refused even before the list is updated.
    package func isNavInternal(_ ceType: String) -> Bool {
        self.navInternalTypes.contains(ceType)
            || (ceType.hasPrefix("no.ips.nav.") && ceType.contains("follow-up-note"))
    }

    /// Whether `body`, of type `ceType`, holds a field its contract classifies `nav-internal`.
    package func holdsNavInternalField(_ body: JSONValue, ceType: String) -> Bool {
        guard let paths = self.navInternalFields[ceType] else { return false }
        return paths.contains { body.holds($0) }
    }
}
