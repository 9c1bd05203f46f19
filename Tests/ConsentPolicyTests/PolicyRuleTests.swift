import ConsentContracts
import ConsentPolicy
import Testing

/// One or more tests per docs/rules.md rule the policy enforces, on the real contracts and fixtures.
@Suite struct PolicyRuleTests {
    typealias F = PolicyFixtures

    // MARK: R1 Consent before disclosure

    @Test func R1_noConsentMeansNothingIdentifiedCrosses() throws {
        for (contract, example) in [
            ("work-relevant-health-information", "functional-ability-and-accommodations"),
            ("treatment-coordination", "cooperation-meeting"),
            ("health-participation-change", "paused-admission"),
        ] {
            let decision = try F.decide(try F.exampleEvent(contract, example), ConsentView())
            #expect(decision.code == "no-consent", "\(contract)")
            #expect(decision.forwardedBody == nil)
        }
    }

    @Test func R1_navToHealthAlsoNeedsConsent() throws {
        let decision = try F.decide(try F.exampleEvent("job-status-update", "job-started"), ConsentView())
        #expect(decision.code == "no-consent")
    }

    @Test func R1_withConsentTheIdentifiedEventIsForwarded() throws {
        let decision = try F.decide(
            try F.exampleEvent("work-relevant-health-information", "functional-ability-and-accommodations"),
            F.view(F.consent(F.kari)))
        guard case .forward(let event) = decision else {
            Issue.record("expected forward, got \(decision)")
            return
        }
        #expect(event.subject == F.kari)
        // Health information goes to the job specialist's follow-up solution only (R9, R13).
        #expect(event.copies.map(\.destinationTopic) == ["nav.followup.inbound"])
        #expect(event.consent.version == 1)
        #expect(JSONPointer.resolve("/functionalAbility/workCapacityPercent", in: event.copies[0].body) == .integer(50))
    }

    @Test func R1_unreadableOrTombstonedConsentIsNoConsent() throws {
        let catalog = try F.catalog()
        let schema = try #require(catalog.consentSchema)
        var view = F.view(F.consent(F.kari))
        view.apply(key: F.kari, value: Array("{\"patientId\":".utf8), schema: schema)
        let event = try F.exampleEvent("job-status-update", "job-started")
        #expect(try F.decide(event, view).code == "consent-unreadable")
        view = ConsentView()
        view.apply(key: F.kari, value: nil, schema: schema)
        #expect(try F.decide(event, view).code == "no-consent")
        // After a grant a tombstone deletes that consent: withdrawn (R5).
        view = F.view(F.consent(F.kari))
        view.apply(key: F.kari, value: nil, schema: schema)
        #expect(try F.decide(event, view).code == "consent-withdrawn")
    }

    // MARK: R2 Anonymous form before consent

    @Test func R2_caseDiscussionWithoutConsentCrossesOnlyInAnonymousForm() throws {
        let decision = try F.decide(
            try F.exampleEvent("anonymous-case-discussion", "pre-consent-discussion"), ConsentView())
        guard case .forwardAnonymous(let event) = decision else {
            Issue.record("expected anonymous, got \(decision)")
            return
        }
        let body = event.body
        let text = String(decoding: event.bytes, as: UTF8.self)
        #expect(!text.contains(F.caseDiscussion))
        #expect(JSONPointer.resolve("/patient/fodselsnummer", in: body) == nil)
        // Born 1972-02-28, event 2026-10-15: 54 years → band 50-59; Oslo 0301 → county 03.
        #expect(JSONPointer.resolve("/patient/birthDate", in: body) == .string("50-59"))
        #expect(JSONPointer.resolve("/patient/municipalityNumber", in: body) == .string("03"))
        #expect(JSONPointer.resolve("/discussion/discussedOn", in: body) == .string("2026-10"))
        #expect(JSONPointer.resolve("/discussion/question", in: body) == nil)
        #expect(JSONPointer.resolve("/discussion/mainChallenges", in: body) == nil)
        #expect(
            JSONPointer.resolve("/discussion/jobInterests", in: body)
                == .array([.string("warehouse"), .string("transport")]))
        #expect(JSONPointer.resolve("/caseReference", in: body) == .string(F.fixedCaseReference.rawValue))
        // The team's ids stay (NAV answers the team); its name, typed by a person, does not: it
        // could carry anything ("Kari Nordmann" did, in an audit).
        #expect(JSONPointer.resolve("/team/teamId", in: body) != nil)
        #expect(JSONPointer.resolve("/team/unitName", in: body) == nil)
        #expect(event.mapping.subject == F.caseDiscussion)
        #expect(event.mapping.keeper == .health)
        #expect(event.publishKey == F.fixedCaseReference.rawValue)
        #expect(event.basis.code == "no-consent")
        #expect(
            event.removed.contains { $0.path == "/patient/fodselsnummer" && $0.classification == .directIdentifier })
        #expect(event.removed.contains { $0.path == "/discussion/question" && $0.classification == .freeText })
        #expect(Set(event.generalized.map(\.rule)) == [.ageBand10y, .county, .month])
    }

    @Test func R2_candidateSuggestionWithoutConsentIsAnonymousAndMappedOnTheNAVSide() throws {
        let decision = try F.decide(
            try F.exampleEvent("candidate-suggestion", "veileder-suggests-candidate"), ConsentView())
        guard case .forwardAnonymous(let event) = decision else {
            Issue.record("expected anonymous, got \(decision)")
            return
        }
        let text = String(decoding: event.bytes, as: UTF8.self)
        #expect(!text.contains(F.caseDiscussion))
        #expect(!text.contains("Hansen"))
        #expect(!text.contains("AAP"))  // the veileder's internal assessment
        #expect(event.mapping.keeper == .nav)
        #expect(event.destinationTopic == "health.ips.inbound")
        #expect(JSONPointer.resolve("/benefitType", in: event.body) == .string("arbeidsavklaringspenger"))
        #expect(JSONPointer.resolve("/navOffice/officeNumber", in: event.body) != nil)
        #expect(JSONPointer.resolve("/navOffice/name", in: event.body) == nil)
    }

    @Test func R2_withConsentTheCaseDiscussionIsIdentified() throws {
        let decision = try F.decide(
            try F.exampleEvent("anonymous-case-discussion", "pre-consent-discussion"),
            F.view(F.consent(F.caseDiscussion)))
        guard case .forward(let event) = decision else {
            Issue.record("expected forward, got \(decision)")
            return
        }
        #expect(JSONPointer.resolve("/patient/birthDate", in: event.copies[0].body) == .string("1972-02-28"))
    }

    @Test func R2_anonymousFormWithAnIdentifierInAnOperationalStringIsRejected() throws {
        var body = try F.exampleValue("anonymous-case-discussion", "minimal")
        // A team id is operational and kept; if a system puts a person's number in it, fail closed.
        guard case .object(var root) = body, case .object(var team)? = root["team"] else {
            Issue.record("shape")
            return
        }
        team["teamId"] = .string("team-\(F.young)")
        root["team"] = .object(team)
        body = .object(root)
        let decision = try F.decide(
            try F.event("anonymous-case-discussion", body: body.serializedBytes()), ConsentView())
        #expect(decision.code == "anonymous-form-not-safe")
    }

    // MARK: R3 Work follow-up never goes into the journal

    @Test func R3_navFollowUpNeverReachesJournal() throws {
        let full = F.view(F.consent(F.kari), F.consent(F.ola))
        for name in try F.exampleNames("follow-up-note", kind: "valid") {
            let decision = try F.decide(try F.exampleEvent("follow-up-note", name), full)
            #expect(decision.code == "nav-internal-never-crosses")
            #expect(decision.rejectReason?.rule == "R3")
        }
    }

    @Test func R3_navInternalFieldsAreRemovedEvenWithFullConsent() throws {
        let decision = try F.decide(try F.exampleEvent("job-status-update", "job-started"), F.view(F.consent(F.kari)))
        guard case .forward(let event) = decision else {
            Issue.record("expected forward, got \(decision)")
            return
        }
        #expect(JSONPointer.resolve("/followUpAssessment", in: event.copies[0].body) == nil)
        #expect(!String(decoding: event.copies[0].bytes, as: UTF8.self).contains("oppfølging første uke"))
        #expect(event.removed.contains { $0.path == "/followUpAssessment" && $0.cause == .navInternal })
        #expect(JSONPointer.resolve("/status", in: event.copies[0].body) == .string("job-started"))
    }

    // MARK: R5 Consent can be withdrawn

    @Test(
        "R5/R2: the relay's re-check of an anonymous copy closes the path exactly when the decision would: withdrawn, deleted (tombstone after a record) or unreadable; never given, a tombstone alone, expired or not covering leave it open"
    )
    func R5_anonymousRecheckAppliesTheDecisionsRule() throws {
        let schema = try #require(try F.catalog().consentSchema)
        let person = F.caseDiscussion
        var tombstoned = ConsentView()
        tombstoned.apply(key: person, value: nil, schema: schema)
        var deleted = F.view(F.consent(person))
        deleted.apply(key: person, value: nil, schema: schema)
        var unreadable = F.view(F.consent(person))
        _ = unreadable.apply(key: person, value: Array("not json".utf8), schema: schema)
        let views: [(name: String, view: ConsentView, closed: RejectReason?)] = [
            ("never given", ConsentView(), nil),
            ("tombstone alone", tombstoned, nil),
            ("expired", F.view(F.consent(person, validUntil: "2026-04-01T00:00:00Z")), nil),
            ("other direction", F.view(F.consent(person, directions: [.navToHealth])), nil),
            (
                "withdrawn", F.view(F.consent(person), F.consent(person, version: 2, status: .withdrawn)),
                .consentWithdrawn
            ),
            ("deleted", deleted, .consentWithdrawn),
            ("unreadable", unreadable, .consentUnreadable),
        ]
        for (name, view, closed) in views {
            let state = view.state(for: person)
            #expect(PolicyEngine.recheckAnonymous(state) == closed, "\(name)")
            // The decision under the same state: anonymous exactly when the re-check lets it cross.
            let decision = try F.decide(
                try F.exampleEvent("anonymous-case-discussion", "pre-consent-discussion"), view)
            if case .forwardAnonymous = decision {
                #expect(closed == nil, "\(name): decided anonymously, but the re-check withholds it")
            } else {
                #expect(closed != nil, "\(name): the re-check lets cross what the decision refuses: \(decision)")
            }
        }
    }

    @Test func R5_withdrawalStopsSharingAtOnce() throws {
        var view = F.view(F.consent(F.kari, version: 1))
        let event = try F.exampleEvent("job-status-update", "job-started")
        #expect(try F.decide(event, view).isForward)
        view.apply(F.consent(F.kari, version: 2, status: .withdrawn, categories: []))
        let decision = try F.decide(event, view)
        #expect(decision.code == "consent-withdrawn")
        #expect(decision.consentUsed?.version == 2)
    }

    @Test func R5_anOlderGrantCannotResurrectAWithdrawnConsent() throws {
        var view = F.view(F.consent(F.kari, version: 2, status: .withdrawn, categories: []))
        #expect(view.apply(F.consent(F.kari, version: 1)) == .ignoredStale)
        #expect(try F.decide(try F.exampleEvent("job-status-update", "job-started"), view).code == "consent-withdrawn")
    }

    @Test("R5: after a withdrawal the anonymous path is closed too (the job specialist knows who it is)")
    func R5_withdrawnCaseDiscussionDoesNotCrossEvenAnonymously() throws {
        let view = F.view(F.consent(F.caseDiscussion, version: 3, status: .withdrawn, categories: []))
        let decision = try F.decide(try F.exampleEvent("anonymous-case-discussion", "pre-consent-discussion"), view)
        #expect(decision.code == "consent-withdrawn")
        // Without any consent record it still crosses anonymously (R2).
        #expect(
            try F.decide(try F.exampleEvent("anonymous-case-discussion", "pre-consent-discussion"), ConsentView())
                .isAnonymous)
    }

    @Test(
        "R5: after a grant, a record that cannot be read closes the anonymous path as a withdrawal does (it may be one)"
    )
    func R5_unreadableConsentClosesTheAnonymousPath() throws {
        var view = F.view(F.consent(F.caseDiscussion, version: 1))
        view.applyUnreadable(patientID: F.caseDiscussion)
        let decision = try F.decide(try F.exampleEvent("anonymous-case-discussion", "pre-consent-discussion"), view)
        #expect(decision.code == "consent-unreadable")
        #expect(!decision.isAnonymous)
    }

    @Test(
        "R5: after a grant, a tombstone withdraws the consent and closes the anonymous path; a tombstone alone does not"
    )
    func R5_aTombstoneAfterAGrantClosesTheAnonymousPath() throws {
        let event = try F.exampleEvent("anonymous-case-discussion", "pre-consent-discussion")
        var view = F.view(F.consent(F.caseDiscussion, version: 1))
        view.applyTombstone(patientID: F.caseDiscussion)
        let decision = try F.decide(event, view)
        #expect(decision.code == "consent-withdrawn")
        #expect(!decision.isAnonymous)
        // Restored from the persisted view (a restart), the same.
        var restored = ConsentView()
        restored.restore(try #require(view.entry(for: F.caseDiscussion)), for: F.caseDiscussion)
        #expect(try F.decide(event, restored).code == "consent-withdrawn")
        // A tombstone for a person who never had a record is no consent: the anonymous form.
        var never = ConsentView()
        never.applyTombstone(patientID: F.caseDiscussion)
        #expect(try F.decide(event, never).isAnonymous)
    }

    // MARK: R6 Informed, scoped consent

    @Test func R6_fieldsOutsideTheConsentedCategoriesDoNotCross() throws {
        // Ola consented to identity, participation and work status, not treatment coordination.
        let view = F.view(F.consent(F.kari, categories: [.identityAndContact, .ipsParticipation]))
        let decision = try F.decide(try F.exampleEvent("health-participation-change", "paused-admission"), view)
        guard case .forward(let event) = decision else {
            Issue.record("expected forward, got \(decision)")
            return
        }
        // "admission" is treatment information
        #expect(JSONPointer.resolve("/reason", in: event.copies[0].body) == nil)
        #expect(JSONPointer.resolve("/change", in: event.copies[0].body) == .string("paused"))
        #expect(
            event.removed == [
                FieldRemoval(
                    path: "/reason", classification: .healthConfidential, consentCategory: "treatment-coordination",
                    cause: .categoryNotInConsent)
            ])
    }

    @Test func R6_nothingInScopeIsRejected() throws {
        let view = F.view(F.consent(F.kari, categories: [.identityAndContact, .ipsParticipation]))
        let decision = try F.decide(
            try F.exampleEvent("work-relevant-health-information", "functional-ability-and-accommodations"), view)
        #expect(decision.code == "nothing-in-scope")
    }

    @Test func R6_withoutIdentityTheReferralCannotBeSent() throws {
        let view = F.view(F.consent(F.ola, categories: [.ipsParticipation]))
        let decision = try F.decide(try F.exampleEvent("referral", "not-sick-listed-minimal"), view)
        #expect(decision.code == "required-field-not-in-consent")
    }

    @Test func R6_expiredAndNotYetValidConsentsDoNotCover() throws {
        let event = try F.exampleEvent("job-status-update", "job-started")
        let expired = F.view(F.consent(F.kari, validUntil: "2026-10-01T00:00:00Z"))
        #expect(try F.decide(event, expired).code == "consent-expired")
        let future = F.view(F.consent(F.kari, validFrom: "2026-11-01T00:00:00Z"))
        #expect(try F.decide(event, future).code == "consent-not-yet-valid")
    }

    // MARK: R7 No referral without consent

    @Test func R7_referralWithoutConsentIsRejectedNeverAnonymous() throws {
        let event = try F.exampleEvent("referral", "not-sick-listed-minimal")
        let none = try F.decide(event, ConsentView())
        #expect(none.code == "referral-requires-consent")
        #expect(none.rejectReason?.rule == "R7")
        let withdrawn = try F.decide(event, F.view(F.consent(F.ola, version: 4, status: .withdrawn, categories: [])))
        #expect(withdrawn.code == "referral-requires-consent")
        #expect(!withdrawn.isAnonymous)
    }

    @Test func R7_referralWithConsentIsForwarded() throws {
        let decision = try F.decide(try F.exampleEvent("referral", "not-sick-listed-minimal"), F.view(F.consent(F.ola)))
        guard case .forward(let event) = decision else {
            Issue.record("expected forward, got \(decision)")
            return
        }
        #expect(JSONPointer.resolve("/patient/fodselsnummer", in: event.copies[0].body) == .string(F.ola))
        #expect(event.copies[0].publishKey == F.ola)  // identity is in the consent's scope
    }

    // MARK: R8 Only what is relevant and necessary

    @Test func R8_undeclaredFieldsAreRejectedNotForwarded() throws {
        let body = try F.example("referral", "unknown-field-diagnosis", kind: "invalid")
        let decision = try F.decide(try F.event("referral", body: body), F.view(F.consent(F.ola)))
        #expect(decision.code == "schema-violation")
        guard case .reject(let rejection) = decision else { return }
        #expect(rejection.violations.contains { $0.keyword == "additionalProperties" })
        #expect(!rejection.violations.description.contains("F20"))
    }

    @Test func R8_outputHoldsOnlyDeclaredConsentedFields() throws {
        let view = F.view(F.consent(F.caseDiscussion, categories: [.identityAndContact, .ipsParticipation]))
        let decision = try F.decide(try F.exampleEvent("anonymous-case-discussion", "pre-consent-discussion"), view)
        guard case .forward(let event) = decision else {
            Issue.record("expected forward, got \(decision)")
            return
        }
        // The health-confidential challenges need work-relevant-health, which is not consented.
        #expect(JSONPointer.resolve("/discussion/mainChallenges", in: event.copies[0].body) == nil)
        #expect(event.removed.map(\.path) == ["/discussion/mainChallenges"])
    }

    // MARK: R12 Sick-listed people

    @Test func R12_sickListedReferralNeedsMethodSupervisorAssessment() throws {
        let view = F.view(F.consent(F.kari))
        let withAssessment = try F.decide(
            try F.exampleEvent("referral", "sick-listed-with-method-supervisor-assessment"), view)
        #expect(withAssessment.isForward)

        var body = try F.exampleValue("referral", "sick-listed-with-method-supervisor-assessment")
        guard case .object(var root) = body, case .object(var referral)? = root["referral"] else {
            Issue.record("shape")
            return
        }
        referral["methodSupervisorAssessment"] = nil
        root["referral"] = .object(referral)
        body = .object(root)
        let without = try F.decide(try F.event("referral", body: body.serializedBytes()), view)
        #expect(without.code == "sick-listed-needs-method-supervisor")
        #expect(without.rejectReason?.rule == "R12")

        referral["methodSupervisorAssessment"] = .object(
            JSONObject(uniqueMembers: [
                .init(key: "assessedOn", value: .string("2026-03-04")),
                .init(key: "outcome", value: .string("referral-not-supported")),
            ]))
        root["referral"] = .object(referral)
        let notSupported = try F.decide(try F.event("referral", body: JSONValue.object(root).serializedBytes()), view)
        #expect(notSupported.code == "sick-listed-needs-method-supervisor")
    }

    @Test("R12: the method supervisor's assessment must be dated on or before the referral, and not in the future")
    func R12_assessmentDatedAfterTheReferralDoesNotCount() throws {
        // The example's referral is dated 2026-03-05.
        #expect(try Self.decideSickListed(assessedOn: "2026-03-05").isForward, "the same day counts")
        #expect(try Self.decideSickListed(assessedOn: "2026-03-06").code == "sick-listed-needs-method-supervisor")
        #expect(try Self.decideSickListed(assessedOn: "2099-01-01").code == "sick-listed-needs-method-supervisor")
    }

    /// The example sick-listed referral (dated 2026-03-05) with a supporting assessment dated
    /// `assessedOn`, decided at `now` under Kari's consent.
    static func decideSickListed(assessedOn: String, now: Timestamp = F.now) throws -> PolicyDecision {
        var root = try #require(
            try F.exampleValue("referral", "sick-listed-with-method-supervisor-assessment").objectValue)
        var referral = try #require(root["referral"]?.objectValue)
        referral["methodSupervisorAssessment"] = .object(
            JSONObject(uniqueMembers: [
                .init(key: "assessedOn", value: .string(assessedOn)),
                .init(key: "outcome", value: .string("referral-supported")),
            ]))
        root["referral"] = .object(referral)
        return try F.decide(
            try F.event("referral", body: JSONValue.object(root).serializedBytes()), F.view(F.consent(F.kari)), now: now
        )
    }

    @Test("R12: an assessment dated today counts from midnight in Oslo, an hour or two before midnight UTC")
    func R12_todayIsTheNorwegianDay() throws {
        // Assessed on the referral's day, 2026-03-05, and decided as that day begins.
        let justAfterMidnightInOslo = Timestamp(rfc3339: "2026-03-04T23:30:00Z")!
        #expect(try Self.decideSickListed(assessedOn: "2026-03-05", now: justAfterMidnightInOslo).isForward)
        let justBeforeMidnightInOslo = Timestamp(rfc3339: "2026-03-04T22:59:00Z")!
        #expect(
            try Self.decideSickListed(assessedOn: "2026-03-05", now: justBeforeMidnightInOslo).code
                == "sick-listed-needs-method-supervisor",
            "still the 4th in Oslo: an assessment dated the 5th is in the future")
    }

    // MARK: R16 Third parties

    @Test(
        "R16: another person's fødselsnummer, or a phone number in free text, never crosses, even in a consented field")
    func R16_thirdPartyIdentifiersAreRefused() throws {
        let view = F.view(F.consent(F.kari))
        func referral(motivation: String) throws -> PolicyDecision {
            var root = try #require(try F.exampleValue("referral", "not-sick-listed-minimal").objectValue)
            var patient = try #require(root["patient"]?.objectValue)
            patient["fodselsnummer"] = .string(F.kari)
            root["patient"] = .object(patient)
            var body = try #require(root["referral"]?.objectValue)
            body["motivation"] = .string(motivation)
            root["referral"] = .object(body)
            return try F.decide(try F.event("referral", body: JSONValue.object(root).serializedBytes()), view)
        }
        #expect(try referral(motivation: "Vil gjerne jobbe på lager.").isForward)
        let brother = try referral(motivation: "Ring pasientens bror 17088940180")
        #expect(brother.code == "third-party-identifier")
        #expect(brother.rejectReason?.rule == "R16")
        if case .reject(let rejection) = brother {
            #expect(rejection.violations.map(\.pointer) == ["/referral/motivation"])
        }
        #expect(try referral(motivation: "Treffes på 91 23 45 67 etter kl. 12").code == "third-party-identifier")
        #expect(try referral(motivation: "Skriv til kari@example.no").code == "third-party-identifier")
        // The patient's own number is the subject, not a third party.
        #expect(try referral(motivation: "Gjelder \(F.kari)").isForward)
        #expect(try referral(motivation: "Gjelder fødselsnr. \(F.kari.prefix(6)) \(F.kari.dropFirst(6))").isForward)
        // Another valid number written the same way, beside the subject's, still counts.
        #expect(
            try referral(motivation: "Gjelder \(F.kari), ikke 170889 40180").code == "third-party-identifier")
    }

    // MARK: R13 Roles differ

    @Test func R13_recipientRoleMustBeCoveredByConsent() throws {
        let onlyVeileder = F.view(F.consent(F.kari, roles: [.navVeileder]))
        let decision = try F.decide(
            try F.exampleEvent("work-relevant-health-information", "functional-ability-and-accommodations"),
            onlyVeileder)
        #expect(decision.code == "recipient-not-covered")
        let onlySpecialist = F.view(F.consent(F.caseDiscussion, roles: [.ipsJobSpecialist]))
        let suggestion = try F.decide(
            try F.exampleEvent("candidate-suggestion", "veileder-suggests-candidate"), onlySpecialist)
        guard case .forwardAnonymous(let event) = suggestion else {
            Issue.record("expected anonymous, got \(suggestion)")
            return
        }
        #expect(event.basis.code == "recipient-not-covered")
    }

    @Test func R13_directionMustBeCoveredByConsent() throws {
        let healthToNavOnly = F.view(F.consent(F.kari, directions: [.healthToNav]))
        #expect(
            try F.decide(try F.exampleEvent("job-status-update", "job-started"), healthToNavOnly).code
                == "direction-not-covered")
        #expect(
            try F.decide(
                try F.exampleEvent("work-relevant-health-information", "functional-ability-and-accommodations"),
                healthToNavOnly
            ).isForward)
    }

    @Test func R13_noTeamMeetingsWithoutTreatmentCoordinationConsent() throws {
        let view = F.view(F.consent(F.kari, categories: [.identityAndContact, .ipsParticipation, .workRelevantHealth]))
        #expect(
            try F.decide(try F.exampleEvent("treatment-coordination", "cooperation-meeting"), view).code
                == "nothing-in-scope")
    }
}
