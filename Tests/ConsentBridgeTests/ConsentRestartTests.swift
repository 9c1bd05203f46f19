import ConsentBridge
import ConsentConfiguration
import ConsentKafka
import Foundation
import Testing

/// R5 across restarts: the consent view the bridge decides with is persisted as it decided,
/// fail-closed states and highest versions included, so a restart never loosens it.
@Suite("Consent view across restarts (embedded broker; SQLite)", .serialized, .timeLimit(.minutes(4)))
struct ConsentRestartTests {
    static let patient = "12848740088"
    static let other = "03919540000"

    private func outcome(_ harness: BridgeHarness, _ id: String, expecting count: Int) async throws -> String? {
        let receipts = try await harness.read(harness.topics.healthReceipts, atLeast: count)
        guard let receipt = receipts.first(where: { $0.key == Array(id.utf8) }),
            let body = try JSONSerialization.jsonObject(with: Data(receipt.value ?? [])) as? [String: Any]
        else { return nil }
        return body["reasonCode"] as? String
    }

    @Test(
        "R5: an unreadable record after a grant, and a tombstone before a replayed older grant, stay no-consent after a restart"
    )
    func R5_failClosedStatesSurviveARestart() async throws {
        let harness = try BridgeHarness()
        try await harness.start()
        // Patient: granted v3, then a record that is not a valid consent → unreadable.
        try await harness.publishConsent(patient: Self.patient, try Fixtures.consent(patient: Self.patient, version: 3))
        try await harness.publishConsent(
            patient: Self.patient, Array(#"{"patientId":"12848740088","status":"granted"}"#.utf8))
        // Other: granted v3, then a tombstone.
        try await harness.publishConsent(patient: Self.other, try Fixtures.consent(patient: Self.other, version: 3))
        try await harness.publishConsent(patient: Self.other, nil)
        let first = try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: Self.patient,
            body: try Fixtures.referral(patient: Self.patient))
        #expect(try await outcome(harness, first, expecting: 1) == "referral-requires-consent")
        await harness.stop()

        // Restarted, and an older grant replayed for the tombstoned patient.
        try await harness.start()
        try await harness.publishConsent(patient: Self.other, try Fixtures.consent(patient: Self.other, version: 2))
        let afterRestart = try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: Self.patient,
            body: try Fixtures.referral(patient: Self.patient))
        let replayed = try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: Self.other,
            body: try Fixtures.referral(patient: Self.other))
        let forwarded = try await harness.read(harness.topics.followUpInbound, atLeast: 0)
        let unreadable = try await outcome(harness, afterRestart, expecting: 3)
        let stale = try await outcome(harness, replayed, expecting: 3)
        await harness.finish()

        #expect(forwarded.isEmpty, "a restart let a referral through")
        #expect(unreadable == "referral-requires-consent")
        #expect(stale == "referral-requires-consent")
    }

    @Test("R5: a withdrawal sent without its key, or under another person's key, stops events for the person it names")
    func R5_keylessAndMismatchedWithdrawalsFailClosed() async throws {
        let harness = try BridgeHarness()
        try await harness.start()
        try await harness.publishConsent(patient: Self.patient, try Fixtures.consent(patient: Self.patient))
        try await harness.publishConsent(patient: Self.other, try Fixtures.consent(patient: Self.other))
        // A keyless withdrawal of the patient's consent, and one of the other's under the patient's key.
        _ = try await harness.producer.send(
            KafkaOutgoingRecord(
                topic: harness.topics.healthConsent, key: nil,
                value: try Fixtures.consent(patient: Self.patient, status: "withdrawn", version: 2)))
        try await harness.publishConsent(
            patient: Self.patient, try Fixtures.consent(patient: Self.other, status: "withdrawn", version: 2))
        var ids: [String] = []
        for person in [Self.patient, Self.other] {
            ids.append(
                try await harness.publishEvent(
                    topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: person,
                    body: try Fixtures.referral(patient: person)))
        }
        let forwarded = try await harness.read(harness.topics.followUpInbound, atLeast: 0)
        let outcomes = [
            try await outcome(harness, ids[0], expecting: 2), try await outcome(harness, ids[1], expecting: 2),
        ]
        let metrics = try #require(harness.application).metrics.prometheusText()
        await harness.finish()
        #expect(forwarded.isEmpty)
        #expect(outcomes == ["referral-requires-consent", "referral-requires-consent"])
        // Operators see that it happened (a count, never who).
        #expect(metrics.contains("consent_bridge_consent_records_misaddressed_total 2"))
        #expect(!metrics.contains(Self.patient) && !metrics.contains(Self.other))
    }

    @Test(
        "R4/R5: a consent record without the consent contract's CloudEvents headers is no consent (the journal does not hold it as one); sent with them it is"
    )
    func R5_consentWithoutItsEnvelopeIsNoConsent() async throws {
        let harness = try BridgeHarness()
        try await harness.start()
        // A grant without headers, and a withdrawal without headers after a proper grant.
        try await harness.publishConsentWithoutHeaders(
            patient: Self.patient, try Fixtures.consent(patient: Self.patient))
        try await harness.publishConsent(patient: Self.other, try Fixtures.consent(patient: Self.other))
        try await harness.publishConsentWithoutHeaders(
            patient: Self.other, try Fixtures.consent(patient: Self.other, status: "withdrawn", version: 2))
        var ids: [String] = []
        for person in [Self.patient, Self.other] {
            ids.append(
                try await harness.publishEvent(
                    topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: person,
                    body: try Fixtures.referral(patient: person)))
        }
        let outcomes = [
            try await outcome(harness, ids[0], expecting: 2), try await outcome(harness, ids[1], expecting: 2),
        ]
        let forwardedBefore = try await harness.read(harness.topics.followUpInbound, atLeast: 0)
        // The producer fixed: the same grant, with its headers, is the patient's consent.
        try await harness.publishConsent(patient: Self.patient, try Fixtures.consent(patient: Self.patient))
        try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: Self.patient,
            body: try Fixtures.referral(patient: Self.patient))
        let forwarded = try await harness.read(harness.topics.followUpInbound, atLeast: 1)
        let metrics = try #require(harness.application).metrics.prometheusText()
        await harness.finish()

        #expect(outcomes == ["referral-requires-consent", "referral-requires-consent"])
        #expect(forwardedBefore.isEmpty, "a referral crossed under a consent record without its envelope")
        #expect(forwarded.count == 1)
        // Operators see that it happened (a count, never who).
        #expect(metrics.contains("consent_bridge_consent_records_without_envelope_total 2"))
        #expect(!metrics.contains(Self.patient) && !metrics.contains(Self.other))
    }
}
