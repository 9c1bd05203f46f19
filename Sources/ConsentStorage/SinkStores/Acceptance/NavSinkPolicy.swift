package import ConsentContracts

/// What the sink of one NAV system reads and accepts; anything else is refused (fail closed).
///
/// NAV has two systems (R9): the NAV veileder's case system and the IPS job specialist's
/// follow-up solution, each with its own topics, sink and store. Built from the contract
/// catalog (`init(catalog:system:)`): the health→NAV contracts with a copy for the system's
/// role, and their anonymous forms, are accepted on its inbound topic; contracts the system
/// publishes on its outbound topic are its own documentation; referrals register
/// participants (flow 4); disclosure notices are validated against the published disclosure
/// contract. `standard` and `followUpStandard` are the same for `Contracts/` at the time of
/// writing (a test holds them equal).
package struct NavSinkPolicy: Sendable {
    /// Which store the policy fills: `.navCase` (the veileder's) or `.navFollowUp` (the job
    /// specialist's).
    package var kind: StoreKind = .navCase
    /// Filtered health→NAV events for this system's role.
    package var inboundTopic: String
    /// The system's own outbound events: its follow-up documentation.
    package var ownOutboundTopic: String
    /// Disclosures made by this system.
    package var disclosuresTopic: String
    /// `ce_type`s accepted on `inboundTopic`.
    package var acceptedInboundTypes: Set<String>
    /// `ce_type`s accepted on `ownOutboundTopic`: everything the system publishes there, both
    /// the events it sends the health service through the bridge and its internal documentation.
    package var ownDocumentationTypes: Set<String>
    /// The part of `ownDocumentationTypes` that never crosses (contracts of direction
    /// `nav-internal`: the bridge refuses them, R3). Only these are the system's own
    /// documentation, never shared, in its access report (R11); every other type on its outbound
    /// topic is an event it sends the health service. Empty (nothing claimed never shared) unless
    /// set.
    package var neverSharedTypes: Set<String> = []
    /// `ce_type`s whose arrival registers an IPS participant: referrals only (flow 4: NAV
    /// registers referred, identified participants, never an anonymous case reference).
    package var participantRegisteringTypes: Set<String> = ["no.ips.health.referral.v1"]
    /// The published disclosure contract; notices that fail it are refused (when set).
    package var disclosureSchema: JSONSchema?
    /// The NAV party's breach topic (R10): notices from every sink, filed in `breach_log`.
    package var breachesTopic: String = ContractVocabulary.Topic.navBreaches
    /// The published breach-notice contract; notices that fail it are refused (when set).
    package var breachSchema: JSONSchema?
    /// The published contract of each accepted inbound type (`init(catalog:)`): an inbound
    /// record that breaks it is quarantined as `contract-violation` (R10). Nil only for a
    /// policy made without the catalog (stores opened to read, not to consume).
    package var inboundSchemas: [String: JSONSchema]?
    /// For each accepted inbound type, the properties whose consent category this system's role
    /// may never receive (`NavSystem.receivableCategories`, R13), outermost only, as contract
    /// paths (`"[]"`: every item of an array). The bridge removes them from the role's copy; one
    /// arriving anyway crossed wrongly and is quarantined (R10). Empty for a policy made without
    /// the catalog.
    package var notReceivablePaths: [String: [[String]]] = [:]

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

    /// The policy the contract catalog implies for `system` (default: NAV's case system), on
    /// the contracts' topic names.
    package init(catalog: ContractCatalog, system: ContractVocabulary.NavSystem = ContractVocabulary.caseSystem) {
        var accepted: Set<String> = []
        var own: Set<String> = []
        var neverShared: Set<String> = []
        var notReceivable: [String: [[String]]] = [:]
        for contract in catalog.contracts {
            if contract.direction == .healthToNav, contract.destinations.contains(where: { $0.role == system.role }) {
                accepted.insert(contract.ceType)
                notReceivable[contract.ceType] = Self.paths(in: contract, notReceivableBy: system)
                if let anonymous = catalog.anonymousForm(of: contract) {
                    accepted.insert(anonymous.ceType)
                    notReceivable[anonymous.ceType] = Self.paths(in: anonymous, notReceivableBy: system)
                }
            }
            if contract.direction != .bridge, contract.sourceTopic == system.outboundTopic {
                own.insert(contract.ceType)
                if contract.direction == .navInternal { neverShared.insert(contract.ceType) }
            }
        }
        self.init(
            inboundTopic: system.inboundTopic, ownOutboundTopic: system.outboundTopic,
            disclosuresTopic: system.disclosuresTopic, acceptedInboundTypes: accepted, ownDocumentationTypes: own)
        self.kind = system.role == ContractVocabulary.followUpSolution.role ? .navFollowUp : .navCase
        self.neverSharedTypes = neverShared
        self.participantRegisteringTypes = Set(catalog.contracts.filter { $0.name == "referral" }.map(\.ceType))
        self.disclosureSchema = catalog.contract(forCEType: DisclosureNotice.ceType)?.schema
        self.breachSchema = catalog.contract(forCEType: BreachNotice.ceType)?.schema
        self.inboundSchemas = Dictionary(
            uniqueKeysWithValues: accepted.compactMap { type in
                catalog.contract(forCEType: type).map { (type, $0.schema) }
            })
        self.notReceivablePaths = notReceivable.filter { !$0.value.isEmpty }
    }

    /// The outermost properties of `contract` whose consent category `system`'s role may never
    /// receive (an inner property inherits its container's category, so it is covered by it).
    static func paths(in contract: MessageContract, notReceivableBy system: ContractVocabulary.NavSystem) -> [[String]]
    {
        var paths: [[String]] = []
        for field in contract.fields.sorted(by: { $0.path.count < $1.path.count }) {
            guard let category = field.consentCategory, !system.receivableCategories.contains(category) else {
                continue
            }
            if paths.contains(where: { field.path.starts(with: $0) }) { continue }
            paths.append(field.path)
        }
        return paths
    }

    /// The veileder's case system: ARCHITECTURE.md topic names and the contract types of
    /// `Contracts/schemas`.
    /// Both its own types are sent to the health service: it has no never-shared documentation.
    package static let standard = NavSinkPolicy(
        inboundTopic: ContractVocabulary.Topic.navInbound,
        ownOutboundTopic: ContractVocabulary.Topic.navOutbound,
        disclosuresTopic: ContractVocabulary.Topic.navDisclosures,
        acceptedInboundTypes: [
            "no.ips.health.participation-change.v1",
            "no.ips.health.referral.v1",
        ],
        ownDocumentationTypes: [
            "no.ips.nav.candidate-suggestion.v1",
            "no.ips.nav.participation-change.v1",
        ]
    )

    /// The IPS job specialist's follow-up solution: its topics and contract types.
    package static let followUpStandard: NavSinkPolicy = {
        var policy = NavSinkPolicy(
            inboundTopic: ContractVocabulary.Topic.followUpInbound,
            ownOutboundTopic: ContractVocabulary.Topic.followUpOutbound,
            disclosuresTopic: ContractVocabulary.Topic.followUpDisclosures,
            acceptedInboundTypes: [
                "no.ips.health.case-discussion.v1",
                "no.ips.health.case-discussion.anonymous.v1",
                "no.ips.health.participation-change.v1",
                "no.ips.health.referral.v1",
                "no.ips.health.treatment-coordination.v1",
                "no.ips.health.work-relevant-health.v1",
            ],
            ownDocumentationTypes: [
                "no.ips.nav.follow-up-note.v1",
                "no.ips.nav.job-status.v1",
            ])
        policy.kind = .navFollowUp
        // Job status updates are sent to the health service; follow-up notes never cross (R3).
        policy.neverSharedTypes = ["no.ips.nav.follow-up-note.v1"]
        return policy
    }()

    /// Whether `body`, of type `ceType`, holds a property this system's role may never receive.
    package func holdsNotReceivableField(_ body: JSONValue, ceType: String) -> Bool {
        guard let paths = self.notReceivablePaths[ceType] else { return false }
        return paths.contains { body.holds($0) }
    }

    /// Topics the sink consumes.
    package var topics: [String] {
        [self.inboundTopic, self.ownOutboundTopic, self.disclosuresTopic, self.breachesTopic]
    }
}
