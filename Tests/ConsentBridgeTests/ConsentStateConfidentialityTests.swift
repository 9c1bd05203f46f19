import ConsentBridge
import ConsentConfiguration
import ConsentKafka
import Foundation
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
        for (index, history) in histories.enumerated() {
            for record in history.records { try await harness.publishConsent(patient: persons[index], record) }
        }
        var ids: [String: String] = [:]
        for (index, history) in histories.enumerated() {
            var object = try Fixtures.json("job-status-update/valid/job-started.json")
            var participant = object["participant"] as! [String: Any]
            participant["fodselsnummer"] = persons[index]
            object["participant"] = participant
            object["eventId"] = UUID().uuidString.lowercased()
            ids[history.cause] = try await harness.publishEvent(
                topic: harness.topics.followUpOutbound, ceType: "no.ips.nav.job-status.v1", key: persons[index],
                body: try Fixtures.bytes(object))
        }
        // Job status comes from the job specialist's follow-up solution, which reads its receipts.
        let receipts = try await harness.read(harness.topics.followUpReceipts, atLeast: histories.count)
        let navDisclosures = try await harness.read(harness.topics.followUpDisclosures, atLeast: 0)
        let forwarded = try await harness.read(harness.topics.healthInbound, atLeast: 0)
        await harness.finish()

        #expect(forwarded.isEmpty && navDisclosures.isEmpty)
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
}
