import ConsentBridge
import ConsentConfiguration
import ConsentContracts
import ConsentKafka
import ConsentStorage
import Foundation
import Logging
import Testing

/// R15: whether a person has, lacks, narrowed or withdrew an IPS consent in EPJ is health
/// information. NAV sends the same job-status event about persons in every consent state the
/// bridge refuses for; what NAV can read back must be the same for all of them.
@Suite("Consent state stays on the health side (embedded broker; SQLite)", .serialized, .timeLimit(.minutes(4)))
struct ConsentStateConfidentialityTests {
    @Test("R15: every consent-dependent refusal of a NAV event looks the same on NAV's side: rejected, not-delivered")
    func R15_navCannotTellConsentStatesApart() async throws {
        let harness = try BridgeHarness()
        try await harness.start()
        let day: TimeInterval = 86_400
        let format = ISO8601DateFormatter()
        /// A consent document for `patient`, changed by `edit`.
        func consent(_ patient: String, _ edit: (inout [String: Any]) -> Void = { _ in }) throws -> [UInt8] {
            var object =
                try JSONSerialization.jsonObject(with: Data(try Fixtures.consent(patient: patient))) as! [String: Any]
            edit(&object)
            return try Fixtures.bytes(object)
        }
        // One person per cause, each with the history that leads to it.
        let persons = (0..<9).map { BridgeCrashTests.syntheticFodselsnummer(index: 100 + $0) }
        let histories: [(cause: String, records: [[UInt8]?])] = [
            ("no consent", []),
            (
                "withdrawn",
                [
                    try consent(persons[1]),
                    try consent(persons[1]) {
                        $0["status"] = "withdrawn"
                        $0["version"] = 2
                    },
                ]
            ),
            ("tombstoned", [try consent(persons[2]), nil]),
            ("unreadable", [try consent(persons[3]), Array(#"{"patientId":"x"}"#.utf8)]),
            (
                "expired",
                [try consent(persons[4]) { $0["validUntil"] = format.string(from: Date().addingTimeInterval(-day)) }]
            ),
            (
                "not yet valid",
                [try consent(persons[5]) { $0["validFrom"] = format.string(from: Date().addingTimeInterval(30 * day)) }]
            ),
            ("direction not covered", [try consent(persons[6]) { $0["directions"] = ["health-to-nav"] }]),
            ("recipient not covered", [try consent(persons[7]) { $0["recipientRoles"] = ["nav-veileder"] }]),
            ("category not covered", [try consent(persons[8]) { $0["categories"] = ["identity-and-contact"] }]),
        ]
        // A control: the same event about a person whose consent covers it crosses, so the
        // refusals above come from the consent states, not from an event or consent the bridge
        // could not have let through anyway.
        let consenting = BridgeCrashTests.syntheticFodselsnummer(index: 120)
        try await harness.publishConsent(patient: consenting, try consent(consenting))
        for (index, history) in histories.enumerated() {
            for record in history.records { try await harness.publishConsent(patient: persons[index], record) }
        }
        /// A job status about `person`; its message id.
        func publishJobStatus(about person: String) async throws -> String {
            var object = try Fixtures.json("job-status-update/valid/job-started.json")
            var participant = object["participant"] as! [String: Any]
            participant["fodselsnummer"] = person
            object["participant"] = participant
            object["eventId"] = UUID().uuidString.lowercased()
            return try await harness.publishEvent(
                topic: harness.topics.followUpOutbound, ceType: "no.ips.nav.job-status.v1", key: person,
                body: try Fixtures.bytes(object))
        }
        var ids: [String: String] = [:]
        for (index, history) in histories.enumerated() {
            ids[history.cause] = try await publishJobStatus(about: persons[index])
        }
        let controlID = try await publishJobStatus(about: consenting)
        // Job status comes from the job specialist's follow-up solution, which reads its receipts.
        let receipts = try await harness.read(harness.topics.followUpReceipts, atLeast: histories.count + 1)
        let forwarded = try await harness.read(harness.topics.healthInbound, atLeast: 1)
        let navDisclosures = try await harness.read(harness.topics.followUpDisclosures, atLeast: 0)
        await harness.finish()

        let control = try #require(receipts.first { $0.key == Array(controlID.utf8) }, "the control's receipt")
        #expect(try BridgeReceipt(json: StrictJSON.parse(control.value ?? [])).outcome == .accepted)
        // Only the control crossed, and only its disclosure is reported to NAV.
        #expect(forwarded.count == 1)
        let crossedIDs = Set(forwarded.compactMap { $0.headers.string(named: "ce_id") })
        #expect(
            try navDisclosures.allSatisfy {
                crossedIDs.contains(try DisclosureNotice(json: StrictJSON.parse($0.value ?? [])).disclosureID)
            })
        // What NAV reads, apart from its own message id, the time and the position.
        var seen: [String: String] = [:]
        for (cause, id) in ids {
            let receipt = try #require(receipts.first { $0.key == Array(id.utf8) }, "\(cause)")
            var body = try #require(try JSONSerialization.jsonObject(with: Data(receipt.value ?? [])) as? [String: Any])
            for varying in ["messageId", "decidedAt", "source"] { body.removeValue(forKey: varying) }
            seen[cause] = String(
                decoding: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]), as: UTF8.self)
            let headers = receipt.headers.filter { !["ce_id", "ce_time"].contains($0.name) }.map {
                "\($0.name)=\($0.stringValue ?? "")"
            }
            seen[cause]! += " " + headers.sorted().joined(separator: ";")
        }
        #expect(Set(seen.values).count == 1, "NAV can tell consent states apart: \(seen)")
        #expect(seen["no consent"]?.contains(#""reasonCode":"not-delivered""#) == true)
        #expect(seen["no consent"]?.contains(#""outcome":"rejected""#) == true)
    }

    @Test(
        "R15: what NAV reads back about a candidate it suggested (receipt, notice, its case store) is the same whether the person's EPJ consent lets it cross identified or only anonymously"
    )
    func R15_navCannotTellTheFormItsEventCrossedIn() async throws {
        let harness = try BridgeHarness(roles: WholeProductTests.allRoles)
        try await harness.start()
        let consented = BridgeCrashTests.syntheticFodselsnummer(index: 200)
        let unconsented = BridgeCrashTests.syntheticFodselsnummer(index: 201)
        try await harness.publishConsent(patient: consented, try Fixtures.consent(patient: consented))
        let example = try #require(try Fixtures.validExamples("candidate-suggestion").first)
        for person in [consented, unconsented] {
            try await harness.publishEvent(
                topic: harness.topics.navOutbound, ceType: "no.ips.nav.candidate-suggestion.v1", key: person,
                body: try Fixtures.with(subject: person, at: ["candidate", "fodselsnummer"], in: example))
        }
        let forwarded = try await harness.read(harness.topics.healthInbound, atLeast: 2)
        let receipts = try await harness.read(harness.topics.navReceipts, atLeast: 2)
        let notices = try await harness.read(harness.topics.navDisclosures, atLeast: 2)
        let navStore = try await NavSystemStore.open(
            .sqlite(path: harness.directory + "/nav.sqlite"), logger: Logger(label: "inspect"))
        try await WholeProductTests.poll("NAV's case store files both notices") {
            let filed =
                try await navStore.disclosures(participantID: consented)
                + navStore.disclosures(participantID: unconsented)
            return filed.count == 2
        }
        let filed =
            try await navStore.disclosures(participantID: consented)
            + navStore.disclosures(participantID: unconsented)
        await navStore.close()
        await harness.finish()

        // The health side received one identified and one anonymous form, so the two differ there.
        #expect(
            Set(forwarded.compactMap { $0.headers.string(named: "ce_type") }) == [
                "no.ips.nav.candidate-suggestion.v1", "no.ips.nav.candidate-suggestion.anonymous.v1",
            ])
        // On NAV's side: bodies and headers alike, but for ids, times and the person NAV named.
        let catalog = try ContractCatalog.load(directory: BridgeHarness.contractsDirectory)
        let disclosure = try #require(catalog.contract(forCEType: DisclosureNotice.ceType))
        func seen(_ record: KafkaRecord) throws -> String {
            let value = try StrictJSON.parse(record.value ?? [])
            guard case .object(var object) = value else { return "not an object" }
            for varying in ["disclosureId", "messageId", "subjectId", "decidedAt", "forwardedId", "source"] {
                object[varying] = nil
            }
            let headers = record.headers.filter { !["ce_id", "ce_time", "traceparent"].contains($0.name) }
                .map { "\($0.name)=\($0.stringValue ?? "")" }.sorted()
            return String(decoding: JSONValue.object(object).serializedBytes(), as: UTF8.self) + " "
                + headers.joined(separator: ";")
        }
        #expect(receipts.count == 2 && notices.count == 2)
        #expect(Set(try receipts.map(seen)).count == 1, "NAV's receipts tell the consent states apart")
        #expect(Set(try notices.map(seen)).count == 1, "NAV's notices tell the consent states apart")
        for notice in notices {
            #expect(disclosure.schema.validate(try StrictJSON.parse(notice.value ?? [])).isEmpty)
        }
        #expect(filed.count == 2 && filed.allSatisfy { $0.form == "as-consented" && $0.categories.isEmpty })
    }
}
