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

/// The anonymous form is a published contract of its own (R2): what the filter builds must be
/// what `Contracts/schemas/*.anonymous.schema.json` promises integrators.
@Suite struct AnonymousFormContractTests {
    typealias F = PolicyFixtures

    @Test("R2: every anonymous output, from every valid example, satisfies its anonymous-form contract")
    func R2_anonymousOutputsSatisfyTheirContract() throws {
        let catalog = try F.catalog()
        var checked = 0
        for plan in catalog.plans.values where plan.contract.hasAnonymousForm {
            let anonymous = try #require(
                catalog.plan(forCEType: AnonymousFormSchema.ceType(of: plan.contract.ceType)), "\(plan.contract.name)")
            #expect(anonymous.contract.direction == .bridge, "senders may not publish an anonymous form themselves")
            for name in try F.exampleNames(plan.contract.name, kind: "valid") {
                // No consent at all: the anonymous path.
                let decision = try F.decide(try F.exampleEvent(plan.contract.name, name), ConsentView())
                guard case .forwardAnonymous(let event) = decision else { continue }
                #expect(event.ceType == anonymous.contract.ceType)
                let violations = anonymous.contract.schema.validate(event.body)
                #expect(violations.isEmpty, "\(plan.contract.name)/\(name): \(violations.map(\.pointer))")
                checked += 1
            }
        }
        #expect(checked >= 3)
    }

    @Test("R2: a sender cannot publish an anonymous form as if the bridge had made it")
    func R2_anonymousFormTypesAreNotAcceptedAsInput() throws {
        let catalog = try F.catalog()
        var event = try F.exampleEvent("anonymous-case-discussion", "pre-consent-discussion")
        event.headers.type = "no.ips.health.case-discussion.anonymous.v1"
        event.body = try F.example("anonymous-case-discussion.anonymous", "pre-consent-discussion")
        #expect(catalog.plan(forCEType: event.headers.type!) != nil)
        #expect(try F.decide(event, F.view(F.consent(F.kari))).code == "not-an-event-contract")
    }
}
