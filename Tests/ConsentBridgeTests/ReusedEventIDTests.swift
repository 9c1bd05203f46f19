import ConsentBridge
import ConsentBridgeTesting
import ConsentConfiguration
import ConsentKafka
import ConsentStorage
import Foundation
import Testing

/// Exactly once, and nothing lost, when ids repeat: CloudEvents identifies an event by its
/// source and id, so two systems may use the same `ce_id`. An event of another topic reusing a
/// recorded id is decided and recorded (under its alternative id); the same event again on its
/// own topic is recorded once, counted as a duplicate, not as a second decision.
@Suite(
    "Reused event ids (embedded broker; SQLite, and PostgreSQL when available)", .serialized, .timeLimit(.minutes(4)))
struct ReusedEventIDTests {
    static let patient = "12848740088"

    private func decoded(_ record: KafkaRecord) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(record.value ?? [])) as? [String: Any])
    }

    /// The value of the series `name` whose labels include `labels`, in Prometheus text; nil when absent.
    static func value(_ name: String, _ labels: [String: String], in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
            let wanted = labels.allSatisfy { line.contains("\($0.key)=\"\($0.value)\"") }
            if wanted, let number = line.split(separator: " ").last.flatMap({ Double($0) }) { return number }
        }
        return nil
    }

    /// Waits until `condition` holds (or `timeout` passes).
    static func eventually(timeout: Duration = .seconds(30), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
    }

    static func jobStatus(patient: String) throws -> [UInt8] {
        var object = try Fixtures.json("job-status-update/valid/job-started.json")
        var participant = object["participant"] as! [String: Any]
        participant["fodselsnummer"] = patient
        object["participant"] = participant
        object["eventId"] = UUID().uuidString.lowercased()
        return try Fixtures.bytes(object)
    }

    @Test(
        "An EPJ referral and a NAV job status with the same ce_id are both decided: receipts on both sides, both forwarded",
        arguments: BridgeStoreEngine.available)
    func sameIDOnTwoTopicsIsDecidedTwice(engine: BridgeStoreEngine) async throws {
        let harness = try await BridgeHarness.make(engine: engine)
        try await harness.start()
        try await harness.publishConsent(patient: Self.patient, try Fixtures.consent(patient: Self.patient))
        let id = UUID().uuidString.lowercased()
        try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: Self.patient,
            body: try Fixtures.referral(patient: Self.patient), id: id)
        // The referral is recorded first: the job status is the one whose id is taken.
        let healthReceipts = try await harness.read(harness.topics.healthReceipts, atLeast: 1)
        try await harness.publishEvent(
            topic: harness.topics.followUpOutbound, ceType: "no.ips.nav.job-status.v1", key: Self.patient,
            body: try Self.jobStatus(patient: Self.patient), id: id)
        let followUpReceipts = try await harness.read(harness.topics.followUpReceipts, atLeast: 1)
        let toHealth = try await harness.read(harness.topics.healthInbound, atLeast: 1)
        let toFollowUp = try await harness.read(harness.topics.followUpInbound, atLeast: 1)
        let metrics = try #require(harness.metrics)
        try await Self.eventually {
            Self.value("consent_bridge_reused_event_ids_total", [:], in: metrics.prometheusText()) != nil
        }
        let text = metrics.prometheusText()
        let logs = harness.logs.all
        await harness.stop()
        let store = try await harness.openBridgeStore()
        let alternativeID = "kafka:\(harness.topics.followUpOutbound):id:\(id)"
        let referral = try await store.decision(messageID: id)
        let jobStatus = try await store.decision(messageID: alternativeID)
        await store.close()
        await harness.finish()

        // The referral: recorded under its ce_id, its receipt to EPJ, its copy to the follow-up solution.
        #expect(healthReceipts.count == 1 && toFollowUp.count == 1)
        let healthReceipt = try decoded(try #require(healthReceipts.first))
        #expect(healthReceipt["messageId"] as? String == id)
        #expect(healthReceipt["outcome"] as? String == "accepted")
        #expect(referral?.sourceTopic == harness.topics.healthOutbound)
        // The job status: decided as the policy decided (forwarded to the journal), recorded
        // under its alternative id, which its receipt names.
        #expect(followUpReceipts.count == 1, "the job status got no receipt: it was lost")
        #expect(toHealth.count == 1, "the job status was not forwarded")
        let followUpReceipt = try decoded(try #require(followUpReceipts.first))
        #expect(followUpReceipt["messageId"] as? String == alternativeID)
        #expect(followUpReceipt["outcome"] as? String == "accepted")
        #expect(followUpReceipts.first?.key == Array(alternativeID.utf8))
        #expect(jobStatus?.sourceTopic == harness.topics.followUpOutbound)
        #expect(jobStatus?.outcome == .forward)
        // What operators see: both decisions counted, the reuse counted and logged, no duplicate.
        #expect(
            Self.value(
                "consent_bridge_events_total", ["direction": "nav-to-health", "outcome": "forwarded"], in: text) == 1)
        #expect(
            Self.value(
                "consent_bridge_events_total", ["direction": "health-to-nav", "outcome": "forwarded"], in: text) == 1)
        #expect(
            Self.value("consent_bridge_reused_event_ids_total", ["direction": "nav-to-health"], in: text) == 1)
        #expect(Self.value("consent_bridge_duplicate_events_total", [:], in: text) == nil)
        #expect(logs.contains { $0.contains("alternative id") && $0.contains(alternativeID) })
        // Its own line says how it was recorded; no `Decided` line names it under the plain id
        // beside the referral's.
        #expect(logs.filter { $0.hasPrefix("info Decided ") && $0.contains(id) }.count == 1)
    }

    @Test(
        "The same event twice on one topic (after the first is recorded, or in one batch) is forwarded once, and counted as a duplicate, not as a decision",
        arguments: BridgeStoreEngine.available)
    func sameEventTwiceOnOneTopicIsRecordedOnce(engine: BridgeStoreEngine) async throws {
        let harness = try await BridgeHarness.make(engine: engine)
        try await harness.start()
        try await harness.publishConsent(patient: Self.patient, try Fixtures.consent(patient: Self.patient))
        let metrics = try #require(harness.metrics)
        func duplicates() -> Double? {
            Self.value(
                "consent_bridge_duplicate_events_total", ["direction": "health-to-nav"], in: metrics.prometheusText())
        }
        // A retry after the first was recorded (the store holds the id).
        let first = try Fixtures.referral(patient: Self.patient)
        let firstID = try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: Self.patient, body: first)
        _ = try await harness.read(harness.topics.healthReceipts, atLeast: 1)
        try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: Self.patient, body: first,
            id: firstID)
        try await Self.eventually { duplicates() == 1 }
        let afterRetry = duplicates()
        // Twice back to back (one batch, or two).
        let second = try Fixtures.referral(patient: Self.patient)
        let secondID = UUID().uuidString.lowercased()
        for _ in 0..<2 {
            try await harness.publishEvent(
                topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: Self.patient,
                body: second, id: secondID)
        }
        try await Self.eventually { duplicates() == 2 }
        let receipts = try await harness.read(harness.topics.healthReceipts, atLeast: 2)
        let forwarded = try await harness.read(harness.topics.followUpInbound, atLeast: 2)
        let text = metrics.prometheusText()
        let counts = metrics.decisionCounts
        let logs = harness.logs.all
        await harness.finish()

        #expect(afterRetry == 1, "the retry was not counted as a duplicate")
        #expect(Self.value("consent_bridge_duplicate_events_total", ["direction": "health-to-nav"], in: text) == 2)
        #expect(receipts.count == 2, "one receipt per event")
        #expect(
            try receipts.map { try decoded($0)["messageId"] as? String ?? "" }.sorted() == [firstID, secondID].sorted())
        #expect(forwarded.count == 2, "one copy per event")
        // The decision figures count what was recorded: two referrals forwarded, not four.
        #expect(
            Self.value(
                "consent_bridge_events_total",
                ["direction": "health-to-nav", "type": "no.ips.health.referral.v1", "outcome": "forwarded"], in: text)
                == 2)
        #expect(Self.value("consent_bridge_decisions_total", ["code": "accepted"], in: text) == 2)
        #expect(counts["accepted"] == 2)
        #expect(Self.value("consent_bridge_reused_event_ids_total", [:], in: text) == nil)
        #expect(logs.contains { $0.contains("Skipped events already recorded") })
        // The log tells operators what the store holds: one `Decided` line per event, none for
        // the copies skipped (they once each said "forward" again, though nothing crossed).
        let decided = logs.filter { $0.hasPrefix("info Decided ") }
        #expect(decided.filter { $0.contains(firstID) }.count == 1, "a duplicate was logged as decided")
        #expect(decided.filter { $0.contains(secondID) }.count == 1, "a duplicate was logged as decided")
    }
}
