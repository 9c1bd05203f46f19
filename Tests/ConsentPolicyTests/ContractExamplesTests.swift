import ConsentContracts
import ConsentPolicy
import Testing

/// The contract fixtures mean what their folders say: every valid example passes its schema,
/// every invalid one fails it.
@Suite struct ContractExamplesTests {
    static let contracts = [
        "consent", "referral", "anonymous-case-discussion", "work-relevant-health-information",
        "treatment-coordination", "health-participation-change", "job-status-update", "candidate-suggestion",
        "participation-change", "follow-up-note",
    ]

    @Test(arguments: contracts)
    func validExamplesPassAndInvalidFail(contract: String) throws {
        let plan = try #require(try PolicyFixtures.catalog().plan(named: contract))
        let valid = try PolicyFixtures.exampleNames(contract, kind: "valid")
        let invalid = try PolicyFixtures.exampleNames(contract, kind: "invalid")
        #expect(valid.count >= 2)
        #expect(invalid.count >= 2)
        for name in valid {
            let value = try StrictJSON.parse(try PolicyFixtures.example(contract, name))
            #expect(plan.contract.schema.validate(value).isEmpty, "valid/\(name)")
        }
        for name in invalid {
            let value = try StrictJSON.parse(try PolicyFixtures.example(contract, name, kind: "invalid"))
            #expect(!plan.contract.schema.validate(value).isEmpty, "invalid/\(name)")
        }
    }

    @Test func everyMessageContractIsLoadedWithItsFieldPlan() throws {
        let catalog = try PolicyFixtures.catalog()
        for name in Self.contracts {
            let plan = try #require(catalog.plan(named: name), "\(name)")
            #expect(!plan.root.children.isEmpty)
        }
        #expect(catalog.consentSchema != nil)
    }
}
