import ConsentBridge
import ConsentConfiguration
import ConsentKafka
import Foundation
import Testing

/// The W3C trace context of an event crosses the boundary as a child span, and only where it
/// cannot re-identify anyone.
@Suite("Trace context (embedded broker; SQLite)", .serialized, .timeLimit(.minutes(4)))
struct TraceContextTests {
    static let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    private func publish(_ harness: BridgeHarness, ceType: String, key: String, body: [UInt8], traceparent: String)
        async throws -> String
    {
        let id = UUID().uuidString.lowercased()
        _ = try await harness.producer.send(
            KafkaOutgoingRecord(
                topic: harness.topics.healthOutbound, key: Array(key.utf8), value: body,
                headers: [
                    KafkaHeader(name: "ce_id", string: id), KafkaHeader(name: "ce_type", string: ceType),
                    KafkaHeader(name: "ce_source", string: "urn:test"),
                    KafkaHeader(name: "ce_specversion", string: "1.0"),
                    KafkaHeader(name: "ce_time", string: "2026-06-01T10:00:00Z"),
                    KafkaHeader(name: "content-type", string: "application/json"),
                    KafkaHeader(name: "traceparent", string: traceparent),
                    KafkaHeader(name: "tracestate", string: "vendor=12848740088"),
                ]))
        return id
    }

    @Test(
        "An identified copy, its receipt and its notice carry a child of the sender's span; an anonymous copy carries none (R2); tracestate never crosses"
    )
    func R2_traceContextIsCarriedOnlyWhereItIdentifiesNoOne() async throws {
        let harness = try BridgeHarness()
        try await harness.start()
        let patient = BridgeEndToEndTests.patient
        try await harness.publishConsent(patient: patient, try Fixtures.consent(patient: patient))
        _ = try await publish(
            harness, ceType: "no.ips.health.referral.v1", key: patient, body: try Fixtures.referral(patient: patient),
            traceparent: Self.parent)
        // Someone without consent: a case discussion crosses only anonymously.
        let other = "15860250028"
        let discussion = try Fixtures.with(
            subject: other, at: ["patient", "fodselsnummer"],
            in: try #require(try Fixtures.validExamples("anonymous-case-discussion").first))
        _ = try await publish(
            harness, ceType: "no.ips.health.case-discussion.v1", key: other, body: discussion, traceparent: Self.parent)
        // A malformed traceparent is not carried at all.
        _ = try await publish(
            harness, ceType: "no.ips.health.referral.v1", key: patient, body: try Fixtures.referral(patient: patient),
            traceparent: "00-12848740088-x-01")

        // A well-formed traceparent whose trace id holds another person's fødselsnummer (R16):
        // the event crosses, its trace does not.
        let thirdParty = "05869420559"
        _ = try await publish(
            harness, ceType: "no.ips.health.referral.v1", key: patient, body: try Fixtures.referral(patient: patient),
            traceparent: "00-\(thirdParty)000000000000000000000-00f067aa0ba902b7-01")

        let copies = try await harness.read(harness.topics.followUpInbound, atLeast: 4)
        let receipts = try await harness.read(harness.topics.healthReceipts, atLeast: 4)
        let notices = try await harness.read(harness.topics.healthDisclosures, atLeast: 4)
        await harness.finish()

        let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
        func traceparent(_ record: KafkaRecord) -> String? { record.headers.string(named: "traceparent") }
        let identified = copies.filter { $0.headers.string(named: "ce_type") == "no.ips.health.referral.v1" }
        let anonymous = copies.filter { $0.headers.string(named: "ce_type")?.hasSuffix(".anonymous.v1") == true }
        #expect(identified.count == 3 && anonymous.count == 1)
        #expect(
            (copies + receipts + notices).allSatisfy { record in
                record.headers.allSatisfy { !String(decoding: $0.value ?? [], as: UTF8.self).contains(thirdParty) }
            }, "a third party's number in the sender's trace id crossed")
        #expect(anonymous.allSatisfy { traceparent($0) == nil }, "an anonymous copy carries the sender's trace id")
        let carried = identified.compactMap(traceparent)
        #expect(carried.count == 1, "only the well-formed traceparent free of identifiers is carried")
        for value in carried + receipts.compactMap(traceparent) + notices.compactMap(traceparent) {
            let parts = value.split(separator: "-")
            #expect(
                parts.count == 4 && parts[1] == traceID && parts[2] != "00f067aa0ba902b7" && parts[3] == "01",
                "\(value)")
        }
        #expect(receipts.compactMap(traceparent).count == 2)
        for record in copies + receipts + notices {
            #expect(record.headers.string(named: "tracestate") == nil)
        }
    }
}
