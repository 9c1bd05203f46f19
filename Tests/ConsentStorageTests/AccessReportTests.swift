import ConsentBridgeTesting
import ConsentContracts
import ConsentStorage
import Foundation
import Testing

/// R11: each controller answers for its own part, from its own store alone.
@Suite("Access reports (R11)")
struct AccessReportTests {
    static let health = SinkStoreConformanceTests.health
    static let nav = SinkStoreConformanceTests.nav

    @Test(
        "R11/R1: the health side's report lists the person's consents (with who gave them), disclosures and withholdings, and no one else's",
        arguments: TestEngine.available)
    func R11_healthReportFromTheJournalAlone(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await HealthJournalStore.open(
                try await scratch.make("health"), logger: ScratchLocations.logger)
            let byParent = Fixtures.consentEvent(offset: 1, patient: knownFodselsnummer, version: 2) {
                $0["categories"] = ["identity-and-contact"]
                $0["recipientRoles"] = ["ips-job-specialist"]
                $0["directions"] = ["health-to-nav"]
                $0["givenBy"] = "parent"
            }
            let records = [
                Fixtures.consentEvent(offset: 0, patient: knownFodselsnummer, version: 1),
                byParent,
                Fixtures.consentEvent(offset: 2, patient: "01017012345", version: 1),
                try Fixtures.disclosureEvent(
                    topic: Self.health.disclosuresTopic, offset: 0,
                    Fixtures.disclosure("d1", subject: knownFodselsnummer)),
                try Fixtures.disclosureEvent(
                    topic: Self.health.disclosuresTopic, offset: 1, Fixtures.disclosure("other", subject: "01017012345")
                ),
            ]
            _ = try await store.apply(SinkBatch(consumerGroup: "health-sink", records: records))
            let report = try await store.accessReport(patientID: knownFodselsnummer)
            await store.close()
            #expect(report.side == "health" && !report.notice.isEmpty)
            let consents = try #require(report.sections.first { $0.title == "consents" })
            #expect(consents.rows.map { $0[0] } == ["1", "2"])
            #expect(consents.rows.map { $0[3] } == ["not stated", "parent"], "R1: who gave each consent")
            #expect(consents.rows[1][4] == "identity-and-contact" && consents.rows[1][5] == "ips-job-specialist")
            let disclosed = try #require(report.sections.first { $0.title == "disclosed to NAV" })
            #expect(disclosed.rows.count == 1 && disclosed.rows[0][2] == "ips-job-specialist")
            #expect(!report.sections.flatMap(\.rows).flatMap { $0 }.contains("01017012345"), "another person's rows")
        }
    }

    @Test(
        "R11/R4/R5: each section of the journal's report lists exactly what its title says: disclosed to NAV only what crossed, held back (with why) what the consent bridge withheld",
        arguments: TestEngine.available)
    func R11_healthReportSectionsListWhatTheirTitlesSay(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let person = knownFodselsnummer
            let referral = "no.ips.health.referral.v1"
            let health = "no.ips.health.work-relevant-health.v1"
            let discussion = "no.ips.health.case-discussion.anonymous.v1"
            /// A notice on the journal's disclosures topic, valid by the published contract, as the
            /// bridge builds it (and rewrites it when the relay withholds the copy).
            func notice(
                _ number: Int, type: String, role: String, anonymous: Bool = false, withheld reason: String? = nil
            ) -> DisclosureNotice {
                let notice = DisclosureNotice(
                    disclosureID: "00000000-0000-4000-8000-00000000000\(number)", messageID: "event-\(number)",
                    ceType: type, direction: "health-to-nav", subjectID: person,
                    consentID: anonymous ? nil : "5f0c6a2e-1b3d-4c5e-8f70-9a1b2c3d4e5f",
                    consentVersion: anonymous ? nil : 2,
                    recipientRoles: [role], categories: anonymous ? [] : ["ips-participation"],
                    form: anonymous ? .anonymous : .full,
                    caseReference: anonymous ? "case-" + String(repeating: "0b", count: 16) : nil,
                    disclosedFields: ["/eventId"], status: .disclosed, decidedAt: StoreTime.string(from: Fixtures.time),
                    destinationTopic: ContractVocabulary.navSystem(ofRole: role)?.inboundTopic ?? "",
                    contractVersion: Fixtures.catalog.version)
                return reason.map { notice.withheld(reason: $0) } ?? notice
            }
            let notices = [
                notice(1, type: referral, role: "ips-job-specialist"),
                // The consent narrowed to the job specialist before the veileder's copy went out (R5).
                notice(2, type: referral, role: "nav-veileder", withheld: "recipient-not-covered"),
                // The job specialist's cluster refused the copy.
                notice(3, type: health, role: "ips-job-specialist", withheld: "refused-by-broker"),
                notice(4, type: discussion, role: "ips-job-specialist", anonymous: true),
            ]
            let location = try await scratch.make("health")
            // Filed as the journal's sink files them (its policy from the contracts)…
            let sink = try await HealthJournalStore.open(
                location, policy: HealthSinkPolicy(catalog: Fixtures.catalog), logger: ScratchLocations.logger)
            let result = try await sink.apply(
                SinkBatch(
                    consumerGroup: "health-sink",
                    records: notices.enumerated().map {
                        Fixtures.disclosureEvent(topic: Self.health.disclosuresTopic, offset: Int64($0), notice: $1)
                    }))
            await sink.close()
            #expect(result.stored == notices.count && result.rejections.isEmpty, "\(result.rejections)")
            // …and reported as `access-report` opens the store.
            let store = try await HealthJournalStore.open(location, logger: ScratchLocations.logger)
            let report = try await store.accessReport(patientID: person)
            await store.close()
            let sections = Dictionary(uniqueKeysWithValues: report.sections.map { ($0.title, $0) })
            let disclosed = try #require(sections["disclosed to NAV"])
            #expect(
                disclosed.rows.map { [$0[1], $0[2], $0[5], $0[7]] }.sorted { $0[0] > $1[0] } == [
                    [referral, "ips-job-specialist", "identified", "disclosed"],
                    [discussion, "ips-job-specialist", "anonymous", "disclosed"],
                ], "only what crossed is disclosed to NAV")
            #expect(!disclosed.columns.contains("withheld because"))
            let heldBack = try #require(sections["held back by the consent bridge, not disclosed"])
            #expect(heldBack.columns.last == "withheld because")
            #expect(
                heldBack.rows.map { [$0[1], $0[2], $0[7], $0[8]] }.sorted { $0[0] < $1[0] } == [
                    [referral, "nav-veileder", "withheld", "recipient-not-covered"],
                    [health, "ips-job-specialist", "withheld", "refused-by-broker"],
                ], "what the bridge held back, and why")
            // Every notice in exactly one of the two.
            #expect(disclosed.rows.count + heldBack.rows.count == notices.count)
        }
    }

    @Test(
        "R11: NAV's report lists registration, what NAV received and shared, and NAV's own documentation, from NAV's store alone",
        arguments: TestEngine.available)
    func R11_navReportFromNavsStoreAlone(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await NavSystemStore.open(try await scratch.make("nav"), logger: ScratchLocations.logger)
            let person = "participant-7"
            let records = [
                Fixtures.event(
                    topic: Self.nav.ownOutboundTopic, offset: 0, ceID: "note-1",
                    ceType: "no.ips.nav.candidate-suggestion.v1",
                    key: person),
                Fixtures.event(
                    topic: Self.nav.inboundTopic, offset: 0, ceID: "ref-1", ceType: "no.ips.health.referral.v1",
                    key: person),
                try Fixtures.disclosureEvent(
                    topic: Self.nav.disclosuresTopic, offset: 0,
                    Fixtures.disclosure("n1", subject: person, direction: "nav-to-health")),
            ]
            _ = try await store.apply(SinkBatch(consumerGroup: "nav-sink", records: records))
            let report = try await store.accessReport(personID: person)
            let nobody = try await store.accessReport(personID: "someone-else")
            await store.close()
            #expect(report.side == "nav")
            #expect(report.controller.contains("case system"), "R9/R11: the report names the NAV system it covers")
            func rows(_ title: String) -> Int { report.sections.first { $0.title.hasPrefix(title) }?.rows.count ?? -1 }
            #expect(rows("registered") == 1)
            #expect(rows("received from the health service") == 1)
            #expect(rows("sent for the health service") == 1, "a candidate suggestion is sent to health")
            #expect(rows("shared with the health service") == 1)
            #expect(rows("NAV's own follow-up documentation") == 0, "the case system has no never-shared type")
            #expect(nobody.isEmpty)
        }
    }

    @Test(
        "R11/R5/R3: each section of a NAV system's report lists exactly what its title says: shared only what crossed, held back what the relay withheld, never shared only documentation that cannot cross",
        arguments: TestEngine.available)
    func R11_navReportSectionsListWhatTheirTitlesSay(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let person = knownFodselsnummer
            let candidate = "no.ips.nav.candidate-suggestion.v1"
            let change = "no.ips.nav.participation-change.v1"
            let jobStatus = "no.ips.nav.job-status.v1"
            let note = "no.ips.nav.follow-up-note.v1"
            // What each NAV system published on its own topic, and the bridge's notices about it.
            let caseSystem = ContractVocabulary.caseSystem
            let caseRecords = [
                // Sent without consent: crossed only in the anonymous form; NAV's notice says
                // disclosed, `as-consented` (R2, R15). The auditor's case.
                Fixtures.event(
                    topic: caseSystem.outboundTopic, offset: 0, ceID: "suggestion-1", ceType: candidate, key: person),
                Fixtures.disclosureEvent(
                    topic: caseSystem.disclosuresTopic, offset: 0,
                    notice: Fixtures.navNotice(
                        subject: person, sentEventID: "suggestion-1", sentType: candidate,
                        caseReference: "case-" + String(repeating: "0a", count: 16))),
                // Withheld by the relay (consent withdrawn before publication), older data: a notice
                // with status withheld.
                Fixtures.event(
                    topic: caseSystem.outboundTopic, offset: 1, ceID: "change-1", ceType: change, key: person),
                Fixtures.disclosureEvent(
                    topic: caseSystem.disclosuresTopic, offset: 1,
                    notice: Fixtures.navNotice(
                        subject: person, sentEventID: "change-1", sentType: change,
                        withheld: true)),
                // Withheld by a bridge that tells NAV nothing of it (R15): no notice at all.
                Fixtures.event(
                    topic: caseSystem.outboundTopic, offset: 2, ceID: "suggestion-2", ceType: candidate, key: person),
            ]
            let followUp = ContractVocabulary.followUpSolution
            let followUpRecords = [
                Fixtures.event(topic: followUp.outboundTopic, offset: 0, ceID: "note-1", ceType: note, key: person),
                Fixtures.event(
                    topic: followUp.outboundTopic, offset: 1, ceID: "status-1", ceType: jobStatus, key: person),
                Fixtures.disclosureEvent(
                    topic: followUp.disclosuresTopic, offset: 0,
                    notice: Fixtures.navNotice(
                        subject: person, sentEventID: "status-1", sentType: jobStatus)),
                Fixtures.event(
                    topic: followUp.outboundTopic, offset: 2, ceID: "status-2", ceType: jobStatus, key: person),
                Fixtures.disclosureEvent(
                    topic: followUp.disclosuresTopic, offset: 1,
                    notice: Fixtures.navNotice(
                        subject: person, sentEventID: "status-2", sentType: jobStatus,
                        withheld: true)),
            ]
            var reports: [String: [String: [[String]]]] = [:]
            for (name, system, records, readPolicy) in [
                ("navcase", caseSystem, caseRecords, NavSinkPolicy.standard),
                ("followup", followUp, followUpRecords, NavSinkPolicy.followUpStandard),
            ] {
                let location = try await scratch.make(name)
                // Filed as the system's sink files them (its policy from the contracts)…
                let sink = try await NavSystemStore.open(
                    location, policy: NavSinkPolicy(catalog: Fixtures.catalog, system: system),
                    logger: ScratchLocations.logger)
                let result = try await sink.apply(SinkBatch(consumerGroup: "\(name)-sink", records: records))
                await sink.close()
                #expect(result.stored == records.count && result.rejections.isEmpty, "\(name): \(result.rejections)")
                // …and reported as `access-report` opens the store.
                let store = try await NavSystemStore.open(location, policy: readPolicy, logger: ScratchLocations.logger)
                let report = try await store.accessReport(personID: person)
                await store.close()
                reports[name] = Dictionary(uniqueKeysWithValues: report.sections.map { ($0.title, $0.rows) })
            }
            let sent = "sent for the health service, through the consent bridge"
            let shared = "shared with the health service"
            let heldBack = "held back by the consent bridge, not shared"
            let own = "NAV's own follow-up documentation (never shared)"
            let nav = try #require(reports["navcase"])
            #expect(
                nav[sent]?.map { $0[0] }.sorted() == [candidate, candidate, change], "everything NAV sent for health")
            #expect(nav[shared]?.map { [$0[1], $0[6]] } == [[candidate, "disclosed"]], "only what crossed is shared")
            #expect(nav[heldBack]?.map { [$0[1], $0[4]] } == [[change, "withheld"]], "withheld is not shared")
            #expect(nav[own] == [], "a candidate suggestion is not NAV's never-shared documentation")
            let followUpReport = try #require(reports["followup"])
            #expect(followUpReport[sent]?.map { $0[0] } == [jobStatus, jobStatus])
            #expect(followUpReport[shared]?.map { [$0[1], $0[6]] } == [[jobStatus, "disclosed"]])
            #expect(followUpReport[heldBack]?.map { [$0[1], $0[4]] } == [[jobStatus, "withheld"]])
            #expect(followUpReport[own]?.map { $0[0] } == [note], "follow-up notes never cross (R3)")
            // No section lists one of NAV's events both as shared and as never shared.
            for report in [nav, followUpReport] {
                let sharedTypes = Set(report[shared, default: []].map { $0[1] })
                #expect(sharedTypes.isDisjoint(with: report[own, default: []].map { $0[0] }))
            }
        }
    }
}
