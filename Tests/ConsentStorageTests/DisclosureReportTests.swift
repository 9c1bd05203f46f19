import ConsentBridgeTesting
import ConsentConfiguration
import ConsentStorage
import Foundation
import Testing

/// Issue 4 item 7: the patient disclosure report, on data written by the health sink (R4).
@Suite("Patient disclosure report")
struct DisclosureReportTests {
    static let otherPatient = "01010012356"

    @Test("R4: the report lists exactly one patient's disclosures, in every format", arguments: TestEngine.available)
    func R4_reportShowsOnlyThatPatient(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let location = try await scratch.make("health")
            let store = try await HealthJournalStore.open(location, logger: ScratchLocations.logger)
            let topic = HealthSinkPolicy.standard.disclosuresTopic
            var mine = Fixtures.disclosure("mine", subject: knownFodselsnummer)
            mine.recipientOrganisation = "NAV Grünerløkka, \"IPS\""
            let theirs = Fixtures.disclosure("theirs", subject: Self.otherPatient)
            _ = try await store.apply(
                SinkBatch(
                    consumerGroup: "health-sink",
                    records: [
                        try Fixtures.disclosureEvent(topic: topic, offset: 0, mine),
                        try Fixtures.disclosureEvent(topic: topic, offset: 1, theirs),
                        Fixtures.consentEvent(offset: 0, patient: "05059912345", version: 1),
                    ]))
            await store.close()

            for format in DisclosureReport.Format.allCases {
                let output = try await DisclosureReport.run(
                    patientID: knownFodselsnummer, format: format, healthStore: location,
                    logger: ScratchLocations.logger)
                guard case .report(let text) = output else {
                    Issue.record("expected a report, got \(output)")
                    continue
                }
                #expect(text.contains("disclosure-mine"))
                #expect(text.contains("ips-job-specialist") && text.contains("consent-\(knownFodselsnummer)"))
                #expect(
                    !text.contains("disclosure-theirs") && !text.contains(Self.otherPatient),
                    "another patient's data in the \(format) report")
            }
            // A copy held back at the last moment (R5) is listed with its status, and the table
            // does not count it as a disclosure.
            var heldBack = Fixtures.disclosure("held-back", subject: knownFodselsnummer)
            heldBack.status = "withheld"
            heldBack.withheldReason = "consent-withdrawn"
            let table = try DisclosureReport.render([mine, heldBack], format: .table)
            #expect(
                table.hasSuffix("1 disclosure, 1 withheld by the consent bridge (recorded, not disclosed)\n"),
                "\(table)")
            #expect(try DisclosureReport.render([mine], format: .table).hasSuffix("\n1 disclosure\n"))
            let csv = try DisclosureReport.render([mine], format: .csv)
            #expect(csv.contains("\"NAV Grünerløkka, \"\"IPS\"\"\""))
            let json = try DisclosureReport.render([mine], format: .json)
            let decoded = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]]
            #expect(decoded?.first?["consentVersion"] as? Int == 2)
            #expect(decoded?.first?["purpose"] as? String == "ips-follow-up")

            let known = try await DisclosureReport.run(
                patientID: "05059912345", format: .table, healthStore: location, logger: ScratchLocations.logger)
            guard case .noDisclosures = known else {
                Issue.record("expected noDisclosures")
                return
            }
            let unknown = try await DisclosureReport.run(
                patientID: "24068812345", format: .table, healthStore: location, logger: ScratchLocations.logger)
            guard case .unknownPatient(let message) = unknown else {
                Issue.record("expected unknownPatient")
                return
            }
            #expect(!message.contains("24068812345"))
        }
    }

    @Test("A missing SQLite journal is an error, never a silently created empty one")
    func missingStoreIsAnError() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("absent-\(UUID().uuidString).sqlite")
            .path
        await #expect(throws: StorageError.self) {
            _ = try await DisclosureReport.run(
                patientID: knownFodselsnummer, format: .table, healthStore: .sqlite(path: path),
                logger: ScratchLocations.logger)
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
