package import ConsentContracts

/// The contracts as the policy uses them: one `ContractPlan` per CloudEvents type, built once.
package struct PolicyCatalog: Sendable {
    /// Plans by `ce_type`.
    package let plans: [String: ContractPlan]
    /// The consent record contract's schema (x-direction `consent`), for the consent view.
    package let consentSchema: JSONSchema?
    /// Provenance: the catalog version the decisions were made under.
    package let version: String

    /// Prepares every contract. A later contract with the same `ce_type` does not replace an
    /// earlier one (the loader's linter refuses duplicates anyway).
    ///
    /// The contracts name the default topics (Contracts/asyncapi.yaml); `topicName` gives the
    /// name a deployment configured for each (`topics.*`), so that the source check and the
    /// destinations follow a renamed topic instead of the default.
    package init(
        contracts: [MessageContract], version: String, topicName: (String) -> String = { $0 }
    ) {
        var plans: [String: ContractPlan] = [:]
        var consentSchema: JSONSchema?
        for var contract in contracts {
            contract.sourceTopic = topicName(contract.sourceTopic)
            for index in contract.destinations.indices {
                contract.destinations[index].topic = topicName(contract.destinations[index].topic)
            }
            if contract.direction == .consent, consentSchema == nil { consentSchema = contract.schema }
            if plans[contract.ceType] == nil { plans[contract.ceType] = ContractPlan(contract) }
        }
        self.plans = plans
        self.consentSchema = consentSchema
        self.version = version
    }

    /// The plan for `ceType`, or nil for an unknown type.
    package func plan(forCEType ceType: String) -> ContractPlan? { plans[ceType] }

    /// The plan for the contract named `name` (e.g. `referral`).
    package func plan(named name: String) -> ContractPlan? {
        plans.values.first { $0.contract.name == name }
    }
}
