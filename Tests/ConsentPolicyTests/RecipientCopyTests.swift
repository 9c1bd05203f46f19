import ConsentContracts
import ConsentPolicy
import Testing

private typealias F = PolicyFixtures

/// NAV has two systems (R9): the IPS job specialist's follow-up solution and the NAV veileder's
/// case system. The policy makes one copy of an event per role the consent names, each for that
/// role's own system and filtered to what that role may receive (R13).
@Suite("One copy per recipient role, each to its own system (R9, R13)")
struct RecipientCopyTests {
    static let referral = ("referral", "sick-listed-with-method-supervisor-assessment")

    /// The copies of the example referral (Kari's) under a full consent naming `roles`.
    func referralCopies(roles: RecipientRoles) throws -> [RecipientCopy]? {
        let decision = try F.decide(
            try F.exampleEvent(Self.referral.0, Self.referral.1), F.view(F.consent(F.kari, roles: roles)))
        guard case .forward(let event) = decision else { return nil }
        return event.copies
    }

    @Test("R9: for every role combination of a consent, a referral goes exactly to the systems of the roles it names")
    func R9_referralGoesToExactlyTheNamedRolesSystems() throws {
        let expected: [(RecipientRoles, [String])] = [
            ([.ipsJobSpecialist], ["nav.followup.inbound"]),
            ([.navVeileder], ["nav.ips.inbound"]),
            ([.ipsJobSpecialist, .navVeileder], ["nav.followup.inbound", "nav.ips.inbound"]),
        ]
        for (roles, topics) in expected {
            let copies = try #require(try referralCopies(roles: roles), "\(roles.names) should let the referral cross")
            #expect(copies.map(\.destinationTopic) == topics, "\(roles.names)")
            #expect(copies.map(\.role) == roles.names, "\(roles.names)")
        }
        // A consent naming no NAV role lets nothing cross (R13), and never anonymously (R7).
        let none = try F.decide(
            try F.exampleEvent(Self.referral.0, Self.referral.1), F.view(F.consent(F.kari, roles: [])))
        #expect(none.rejectReason == .referralRequiresConsent || none.rejectReason == .recipientNotCovered)
    }

    @Test(
        "R13: the veileder's copy never carries health information, the job specialist's carries what the consent covers"
    )
    func R13_theVeiledersCopyCarriesNoHealthInformation() throws {
        // health-participation-change: `reason` ("admission") is treatment-coordination.
        let decision = try F.decide(
            try F.exampleEvent("health-participation-change", "paused-admission"), F.view(F.consent(F.kari)))
        guard case .forward(let event) = decision else {
            Issue.record("expected forward, got \(decision)")
            return
        }
        let byRole = Dictionary(uniqueKeysWithValues: event.copies.map { ($0.role, $0) })
        let specialist = try #require(byRole["ips-job-specialist"])
        let veileder = try #require(byRole["nav-veileder"])
        #expect(JSONPointer.resolve("/reason", in: specialist.body) == .string("admission"))
        #expect(JSONPointer.resolve("/reason", in: veileder.body) == nil)
        #expect(!String(decoding: veileder.bytes, as: UTF8.self).contains("admission"))
        #expect(veileder.removed.contains { $0.path == "/reason" && $0.cause == .notForRecipientRole })
        // What both may receive crosses to both.
        #expect(JSONPointer.resolve("/change", in: veileder.body) == .string("paused"))
        #expect(JSONPointer.resolve("/patient/fodselsnummer", in: veileder.body) == .string(F.kari))
    }

    @Test("R13: health information for the job specialist never goes to the veileder, whatever the consent names")
    func R13_jobSpecialistOnlyContractsNeverReachTheVeileder() throws {
        for (contract, example) in [
            ("work-relevant-health-information", "functional-ability-and-accommodations"),
            ("treatment-coordination", "cooperation-meeting"),
        ] {
            // A consent naming only the veileder: no copy for anyone.
            let veilederOnly = try F.decide(
                try F.exampleEvent(contract, example), F.view(F.consent(F.kari, roles: [.navVeileder])))
            #expect(veilederOnly.rejectReason == .recipientNotCovered, "\(contract)")
            // Both roles: only the job specialist's copy.
            guard
                case .forward(let event) = try F.decide(
                    try F.exampleEvent(contract, example), F.view(F.consent(F.kari)))
            else {
                Issue.record("\(contract) should cross to the job specialist")
                continue
            }
            #expect(event.copies.map(\.destinationTopic) == ["nav.followup.inbound"], "\(contract)")
        }
    }

    @Test("R9: NAV→health events are sent by one role, from its own system, and need that role in the consent")
    func R9_navToHealthNeedsTheSendersRole() throws {
        // Job status comes from the job specialist's follow-up solution.
        let jobStatus = try F.exampleEvent("job-status-update", "job-started")
        #expect(jobStatus.sourceTopic == "nav.followup.outbound")
        guard case .forward(let event) = try F.decide(jobStatus, F.view(F.consent(F.kari))) else {
            Issue.record("job status should cross under a full consent")
            return
        }
        #expect(event.copies.map(\.destinationTopic) == ["health.ips.inbound"])
        #expect(
            try F.decide(jobStatus, F.view(F.consent(F.kari, roles: [.navVeileder]))).rejectReason
                == .recipientNotCovered)
        // The case system cannot speak for the job specialist: job status from its topic is refused.
        var fromCaseSystem = jobStatus
        fromCaseSystem.sourceTopic = "nav.ips.outbound"
        #expect(try F.decide(fromCaseSystem, F.view(F.consent(F.kari))).rejectReason == .wrongSourceTopic)
    }

    @Test("R5/R13: the relay's re-check stops only the copy of a role the consent no longer names")
    func R5_recheckIsPerCopy() throws {
        let plan = try #require(try F.catalog().plan(named: "referral"))
        let narrowed = F.view(F.consent(F.kari, version: 2, roles: [.ipsJobSpecialist]))
        let now = F.now
        let specialist = try #require(plan.copy(publishedOn: "nav.followup.inbound"))
        let veileder = try #require(plan.copy(publishedOn: "nav.ips.inbound"))
        let disclosed: ConsentCategories = [.identityAndContact, .ipsParticipation]
        #expect(
            PolicyEngine.recheck(
                narrowed.state(for: F.kari), plan: plan, copy: specialist, disclosedCategories: disclosed, now: now)
                == nil)
        #expect(
            PolicyEngine.recheck(
                narrowed.state(for: F.kari), plan: plan, copy: veileder, disclosedCategories: disclosed, now: now)
                == .recipientNotCovered)
    }
}
