package import ConsentContracts

/// What the NAV sink reads and accepts; anything else is refused (fail closed).
///
/// Built from the contract catalog (`init(catalog:)`): health→NAV contracts and their
/// anonymous forms are accepted on `nav.ips.inbound`, contracts NAV publishes on its outbound
/// topic are its own documentation, referrals register participants (flow 4), and disclosure
/// notices are validated against the published disclosure contract. `standard` is the same
/// for `Contracts/` at the time of writing (a test holds the two equal).
package struct NavSinkPolicy: Sendable {
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
    /// `ce_type`s whose arrival registers an IPS participant: referrals only (flow 4: NAV
    /// registers referred, identified participants, never an anonymous case reference).
    package var participantRegisteringTypes: Set<String> = ["no.ips.health.referral.v1"]
    /// The published disclosure contract; notices that fail it are refused (when set).
    package var disclosureSchema: JSONSchema?
    /// This side's breach topic (R10): notices from either sink, filed in `breach_log`.
    package var breachesTopic: String = "nav.breaches"
    /// The published breach-notice contract; notices that fail it are refused (when set).
    package var breachSchema: JSONSchema?
    /// The published contract of each accepted inbound type (`init(catalog:)`): an inbound
    /// record that breaks it is quarantined as `contract-violation` (R10). Nil only for a
    /// policy made without the catalog (stores opened to read, not to consume).
    package var inboundSchemas: [String: JSONSchema]?

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

    /// The policy the contract catalog implies, on ARCHITECTURE.md's topic names.
    package init(catalog: ContractCatalog) {
        var accepted: Set<String> = []
        var own: Set<String> = []
        for contract in catalog.contracts {
            if contract.direction == .healthToNav {
                accepted.insert(contract.ceType)
                if let anonymous = catalog.anonymousForm(of: contract) { accepted.insert(anonymous.ceType) }
            }
            if contract.direction != .bridge, contract.sourceTopic == Self.standard.ownOutboundTopic {
                own.insert(contract.ceType)
            }
        }
        self.init(
            inboundTopic: Self.standard.inboundTopic, ownOutboundTopic: Self.standard.ownOutboundTopic,
            disclosuresTopic: Self.standard.disclosuresTopic, acceptedInboundTypes: accepted, ownDocumentationTypes: own
        )
        self.participantRegisteringTypes = Set(catalog.contracts.filter { $0.name == "referral" }.map(\.ceType))
        self.disclosureSchema = catalog.contract(forCEType: DisclosureNotice.ceType)?.schema
        self.breachSchema = catalog.contract(forCEType: BreachNotice.ceType)?.schema
        self.inboundSchemas = Dictionary(
            uniqueKeysWithValues: accepted.compactMap { type in
                catalog.contract(forCEType: type).map { (type, $0.schema) }
            })
    }

    /// ARCHITECTURE.md topic names and the contract types of `Contracts/schemas`.
    package static let standard = NavSinkPolicy(
        inboundTopic: "nav.ips.inbound",
        ownOutboundTopic: "nav.ips.outbound",
        disclosuresTopic: "nav.disclosures",
        acceptedInboundTypes: [
            "no.ips.health.case-discussion.v1",
            "no.ips.health.case-discussion.anonymous.v1",
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
    package var topics: [String] {
        [self.inboundTopic, self.ownOutboundTopic, self.disclosuresTopic, self.breachesTopic]
    }
}
