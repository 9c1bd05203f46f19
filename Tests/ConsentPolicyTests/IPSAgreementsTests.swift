import ConsentContracts
import ConsentPolicy
import Foundation
import Testing

/// R14: only treatment teams with a valid IPS agreement refer.
@Suite("IPS agreements registry (R14)")
struct IPSAgreementsTests {
    static func schema() throws -> JSONSchema {
        let data = try Data(
            contentsOf: URL(fileURLWithPath: PolicyFixtures.contractsDirectory + "/registry/ips-agreements.schema.json")
        )
        return try JSONSchema(compiling: try StrictJSON.parse(Array(data)))
    }

    static func registry(_ json: String) throws -> IPSAgreements {
        try IPSAgreements.parse(Array(json.utf8), schema: try schema())
    }

    static let sample = #"""
        {"agreements": [
          {"teamId": "act-bergen-nord", "organisationNumber": "983974724", "validFrom": "2026-01-01"},
          {"teamId": "fact-oslo-sentrum", "organisationNumber": "974589095", "validFrom": "2025-01-01", "validUntil": "2026-06-30"}
        ]}
        """#

    @Test("R14: an agreement holds from its first to its last day, for that team of that organisation only")
    func R14_agreementsHoldWithinTheirDates() throws {
        let registry = try Self.registry(Self.sample)
        func holds(_ team: String, _ organisation: String, _ day: String) -> Bool {
            registry.agreement(teamId: team, organisationNumber: organisation, on: CivilDate(iso: day)!) != nil
        }
        #expect(holds("act-bergen-nord", "983974724", "2026-01-01"))
        #expect(holds("act-bergen-nord", "983974724", "2099-12-31"), "no end date: until further notice")
        #expect(!holds("act-bergen-nord", "983974724", "2025-12-31"), "before it starts")
        #expect(holds("fact-oslo-sentrum", "974589095", "2026-06-30"))
        #expect(!holds("fact-oslo-sentrum", "974589095", "2026-07-01"), "after it ends")
        #expect(!holds("act-bergen-nord", "974589095", "2026-03-01"), "the team under another organisation")
        #expect(!holds("act-oslo-ost", "983974724", "2026-03-01"), "another team of the organisation")
    }

    @Test(
        "R14: a registry that is not strict JSON, breaks its schema or has an agreement ending before it starts is refused whole",
        arguments: [
            #"{"agreements": [{"teamId": "act-bergen-nord", "organisationNumber": "983974724", "validFrom": "2026-01-01"}"#,
            #"{"agreements": [{"teamId": "act-bergen-nord", "organisationNumber": "983974724", "validFrom": "2026-01-01", "validFrom": "2020-01-01"}]}"#,
            #"{"agreements": [{"teamId": "Act Bergen", "organisationNumber": "983974724", "validFrom": "2026-01-01"}]}"#,
            #"{"agreements": [{"teamId": "act-bergen-nord", "organisationNumber": "983974724"}]}"#,
            #"{"agreements": [{"teamId": "act-bergen-nord", "organisationNumber": "983974724", "validFrom": "2026-01-01", "extra": 1}]}"#,
            #"{"agreements": [{"teamId": "act-bergen-nord", "organisationNumber": "983974724", "validFrom": "2026-05-01", "validUntil": "2026-04-30"}]}"#,
            #"[]"#,
        ])
    func R14_brokenRegistriesAreRefused(document: String) throws {
        #expect(throws: IPSAgreements.Problem.self) { try Self.registry(document) }
    }

    @Test(
        "R14: a consented referral crosses only from a team with an agreement; without a readable registry no referral crosses"
    )
    func R14_referralsNeedAnAgreement() throws {
        // Referred by team act-bergen-nord of organisation 983974724:
        let event = try PolicyFixtures.exampleEvent("referral", "not-sick-listed-minimal")
        let patient = "03919540000"
        let decision = try PolicyFixtures.decide(event, PolicyFixtures.view(PolicyFixtures.consent(patient)))
        #expect(decision.code == "accepted")
        let today = CivilDate(iso: "2026-12-04")!
        #expect(decision.requiringIPSAgreement(try Self.registry(Self.sample), on: today).code == "accepted")
        let otherTeamOnly = try Self.registry(
            #"{"agreements": [{"teamId": "fact-oslo-sentrum", "organisationNumber": "974589095", "validFrom": "2025-01-01"}]}"#
        )
        #expect(decision.requiringIPSAgreement(otherTeamOnly, on: today).code == "no-ips-agreement")
        #expect(
            decision.requiringIPSAgreement(nil, on: today).code == "no-ips-agreement",
            "an unreadable registry lets no referral through")
        #expect(
            decision.requiringIPSAgreement(try Self.registry(Self.sample), on: CivilDate(iso: "2025-06-01")!).code
                == "no-ips-agreement")
        // A rejection stays the rejection it was.
        let rejected = try PolicyFixtures.decide(event, ConsentView())
        #expect(rejected.requiringIPSAgreement(nil, on: today).code == "referral-requires-consent")
        #expect(RejectReason.noIPSAgreement.rule == "R14")
        #expect(!RejectReason.consentDependentCodes.contains("no-ips-agreement"), "a consent change cannot lift it")
    }

    @Test("R14: an agreement's last day ends at midnight in Oslo, and its first begins there")
    func R14_agreementDaysAreNorwegianDays() throws {
        let event = try PolicyFixtures.exampleEvent("referral", "not-sick-listed-minimal")
        let decision = try PolicyFixtures.decide(event, PolicyFixtures.view(PolicyFixtures.consent("03919540000")))
        let registry = try Self.registry(
            #"{"agreements": [{"teamId": "act-bergen-nord", "organisationNumber": "983974724", "validFrom": "2026-01-01", "validUntil": "2026-06-30"}]}"#
        )
        func code(at instant: String) -> String {
            decision.requiringIPSAgreement(registry, at: Timestamp(rfc3339: instant)!).code
        }
        #expect(code(at: "2026-06-30T21:59:59Z") == "accepted", "23:59:59 on the last day, summer time")
        #expect(
            code(at: "2026-06-30T22:30:00Z") == "no-ips-agreement", "00:30 the day after in Oslo, still the 30th in UTC"
        )
        #expect(code(at: "2025-12-31T22:59:59Z") == "no-ips-agreement", "23:59:59 the day before it starts")
        #expect(code(at: "2025-12-31T23:30:00Z") == "accepted", "00:30 on its first day in Oslo, still 2025 in UTC")
    }

    @Test("R14: the development registry the embedded runs use is valid and names the teams of the examples")
    func R14_developmentRegistryIsValid() throws {
        let data = try Data(
            contentsOf: URL(
                fileURLWithPath: PolicyFixtures.contractsDirectory + "/registry/ips-agreements.development.json"))
        let registry = try IPSAgreements.parse(Array(data), schema: try Self.schema())
        #expect(Set(registry.agreements.map(\.teamId)) == ["act-bergen-nord", "fact-oslo-sentrum"])
    }
}
