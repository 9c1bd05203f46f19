import ConsentBridge
import ConsentBridgeTesting
import ConsentConfiguration
import ConsentContracts
import ConsentKafka
import ConsentStorage
import Foundation
import Logging
import Testing

/// R4 across a restart: a copy the recipient's cluster refused is not disclosed, and the notices
/// and receipt that report on it say so even when they go out only after the bridge restarted.
@Suite(
    "Relay refusals across a restart (embedded broker; SQLite, and PostgreSQL when available)", .serialized,
    .timeLimit(.minutes(4)))
struct RelayRefusalRestartTests {
    @Test(
        "R4/R5: copies NAV's clusters refused before the bridge stopped, their notices and receipt still pending, are reported to the journal as withheld after the restart, never as disclosed",
        arguments: BridgeStoreEngine.available)
    func R4_refusedCopiesStayWithheldAcrossARestart(engine: BridgeStoreEngine) async throws {
        let harness = try await BridgeHarness.make(
            engine: engine, environment: ["CONSENT_BRIDGE_RELAY_SHUTDOWN_DRAIN_MS": "2000"])
        let nav = try harness.makeNavCluster()
        defer { nav.shutdown() }
        try await harness.start(navCluster: nav)
        let topics = harness.topics
        let patient = BridgeEndToEndTests.patient
        try await harness.publishConsent(patient: patient, try Fixtures.consent(patient: patient))
        // The relay is up (its start-up recovery done) once a probe's receipt is out.
        _ = try await harness.publishEvent(
            topic: topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: "03919540000",
            body: try Fixtures.referral(patient: "03919540000"))
        _ = try await harness.read(topics.healthReceipts, atLeast: 1)

        // The journal's notice and receipt topics without a leader: what reports on the copies
        // waits in the producer, and is still pending in the store when the bridge stops (as
        // after a kill -9, or with the health side's cluster unreachable).
        let reportTopics = [topics.healthDisclosures, topics.healthReceipts]
        harness.cluster.setLeaders(of: reportTopics, to: -1)
        // INVALID_RECORD (87): NAV's cluster refuses both copies (one per NAV role) for what they are.
        nav.pushRequestErrors(.produce, Array(repeating: .broker(87), count: 20))
        let id = try await harness.publishEvent(
            topic: topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: patient,
            body: try Fixtures.referral(patient: patient))
        let store = try await harness.openBridgeStore()
        // Settled as refused; the unfixed relay did so only once the reports' own delivery had
        // timed out (`message.timeout.ms`, 30 s).
        try await WholeProductTests.poll("the relay settles both copies as refused", timeout: .seconds(90)) {
            try await store.failedOutboxCount() == 2
        }
        await store.close()
        await harness.stop()
        let stopped = try await harness.openBridgeStore()
        let pendingAtStop = try await stopped.pendingOutboxCount()
        await stopped.close()
        #expect(pendingAtStop == 3, "premise: the two notices and the receipt are pending when the bridge stops")

        // Restarted, with the journal's topics reachable again: the relay's memory of the refusals
        // is gone, and only the store can say what became of the copies.
        harness.cluster.setLeaders(of: reportTopics, to: 1)
        try await harness.start(navCluster: nav)
        let notices = try await harness.read(topics.healthDisclosures, atLeast: 2, timeout: .seconds(30)).filter {
            (try? DisclosureNotice(json: StrictJSON.parse($0.value ?? [])))?.messageID == id
        }
        let receipts = try await harness.read(topics.healthReceipts, atLeast: 2, timeout: .seconds(30)).filter {
            $0.key == Array(id.utf8)
        }
        await harness.stop()
        var forwarded: [KafkaRecord] = []
        for topic in [topics.navInbound, topics.followUpInbound] {
            forwarded += try await BridgeHarness.read(topic, bootstrap: nav.bootstrapServers, atLeast: 0)
        }
        let after = try await harness.openBridgeStore()
        let withheld = try await after.withheldDisclosureIDs()
        let pending = try await after.pendingOutboxCount()
        await after.close()
        await harness.finish()

        #expect(forwarded.isEmpty, "premise: no copy crossed")
        #expect(notices.count == 2 && receipts.count == 1)
        for notice in notices {
            let body = try DisclosureNotice(json: StrictJSON.parse(notice.value ?? []))
            #expect(body.status == .withheld, "after a restart the journal reads a refused copy as disclosed")
            #expect(body.withheldReason == "refused-by-broker")
            #expect(withheld.contains(body.disclosureID), "the refusal is recorded as a withholding")
        }
        for receipt in receipts {
            let body = try BridgeReceipt(json: StrictJSON.parse(receipt.value ?? []))
            #expect(body.outcome == .withheld, "after a restart the clinician reads accepted for copies refused")
            #expect(body.forwardedID == nil)
        }
        #expect(pending == 0)
    }
}
