import ConsentBridgeTesting
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
            var byParent = Fixtures.consentEvent(offset: 1, patient: knownFodselsnummer, version: 2)
            byParent.value = Array(
                #"{"patientId":"\#(knownFodselsnummer)","consentId":"c-1","version":2,"status":"granted","categories":["identity-and-contact"],"recipientRoles":["ips-job-specialist"],"directions":["health-to-nav"],"givenBy":"parent","recordedAt":"2026-03-02T09:14:00+01:00"}"#
                    .utf8)
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
            #expect(rows("shared with the health service") == 1)
            #expect(rows("NAV's own follow-up documentation") == 1)
            #expect(nobody.isEmpty)
        }
    }
}
