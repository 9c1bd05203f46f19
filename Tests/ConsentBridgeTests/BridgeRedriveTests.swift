import ConsentBridge
import ConsentBridgeTesting
import ConsentConfiguration
import ConsentContracts
import ConsentKafka
import ConsentPolicy
import ConsentStorage
import Foundation
import Logging
import Testing

/// The operator's redrive: a rejection is decided again against the current consent.
@Suite(
    "Redrive of rejected messages (embedded broker; SQLite, and PostgreSQL when available)", .serialized,
    .timeLimit(.minutes(4)))
struct BridgeRedriveTests {
    static let patient = "12848740088"

    private func decoded(_ record: KafkaRecord) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(record.value ?? [])) as? [String: Any])
    }

    static let contract = "work-relevant-health-information"
    static let ceType = "no.ips.health.work-relevant-health.v1"

    /// Work-relevant health information about the test patient (a redrivable contract).
    static func information() throws -> [UInt8] {
        var object = try Fixtures.json("\(contract)/valid/functional-ability-and-accommodations.json")
        var person = object["patient"] as! [String: Any]
        person["fodselsnummer"] = patient
        object["patient"] = person
        object["eventId"] = UUID().uuidString.lowercased()
        return try Fixtures.bytes(object)
    }

    @Test(
        "R1/R6: information rejected for lack of consent crosses after consent is given, only once, with only in-scope fields",
        arguments: BridgeStoreEngine.available)
    func R1_redriveAfterConsentForwardsOnce(engine: BridgeStoreEngine) async throws {
        let harness = try await BridgeHarness.make(engine: engine)
        try await harness.start()
        let id = try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: Self.ceType, key: Self.patient, body: try Self.information())
        let firstReceipts = try await harness.read(harness.topics.healthReceipts, atLeast: 1)
        let firstReceipt = try #require(firstReceipts.first)
        let firstReason = try #require(try decoded(firstReceipt)["reasonCode"] as? String)
        let redrive = try #require(harness.redrive)

        // Still no consent: decided again, still refused, nothing recorded or sent.
        #expect(try await redrive.redrive(messageID: id) == .stillRejected(reasonCode: firstReason))

        let granted = ["identity-and-contact", "work-relevant-health"]
        try await harness.publishConsent(
            patient: Self.patient, try Fixtures.consent(patient: Self.patient, categories: granted))
        // No wait: the redrive goes through the consent gate, so the grant just appended is seen.
        #expect(try await redrive.redrive(messageID: id) == .forwarded)
        #expect(try await redrive.redrive(messageID: id) == .alreadyRedriven)

        let forwarded = try await harness.read(harness.topics.followUpInbound, atLeast: 1)
        let receipts = try await harness.read(harness.topics.healthReceipts, atLeast: 2)
        let notices = try await harness.read(harness.topics.healthDisclosures, atLeast: 1)
        await harness.stop()
        let store = try await harness.openBridgeStore()
        let disclosures = try await store.disclosures(subjectID: Self.patient)
        await store.close()
        await harness.finish()

        #expect(forwarded.count == 1, "a redrive lets a message through once")
        let record = try #require(forwarded.first)
        let forwardedIDs = try receipts.compactMap { try decoded($0)["forwardedId"] as? String }
        #expect(
            forwardedIDs == [try #require(record.headers.string(named: "ce_id"))],
            "the redrive's receipt names the copy that crossed")
        let catalog = try ContractCatalog.load(directory: BridgeHarness.contractsDirectory)
        let contract = try #require(catalog.contract(forCEType: Self.ceType))
        let body = try decoded(record)
        for field in contract.fields {
            guard let category = field.consentCategory, !granted.contains(category) else { continue }
            #expect(
                !BridgeEndToEndTests.exists(field.path, in: body),
                "field \(field.path) of category \(category) crossed without consent")
        }
        // The sender gets a second receipt under its own id (the first, "rejected", stays valid).
        let outcomes = try receipts.map { try decoded($0)["outcome"] as? String }
        #expect(outcomes.sorted { ($0 ?? "") < ($1 ?? "") } == ["accepted", "rejected"])
        #expect(Set(receipts.compactMap { $0.headers.string(named: "ce_id") }).count == 2)
        // R10: the disclosure is logged, in the store and on the journal's disclosure topic.
        #expect(disclosures.count == 1)
        #expect(disclosures.first?.eventID == id)
        #expect(notices.count == 1)
    }

    @Test(
        "R9: past its retention a rejection's sealed copy is erased and a redrive answers expired, even with consent; nothing crosses",
        arguments: BridgeStoreEngine.available)
    func R9_expiredRejectionsAreNotRedriven(engine: BridgeStoreEngine) async throws {
        let harness = try await BridgeHarness.make(
            engine: engine, environment: ["CONSENT_BRIDGE_REJECTIONS_SEALED_PAYLOAD_RETENTION_HOURS": "2"])
        try await harness.start()
        let erased = try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: Self.ceType, key: Self.patient, body: try Self.information())
        _ = try await harness.read(harness.topics.healthReceipts, atLeast: 1)
        // The bridge's own retention service, as configured, passing once two hours from now.
        let application = try #require(harness.application)
        let retention = try #require(application.services.compactMap { $0 as? SealedPayloadRetention }.first)
        #expect(retention.retention == .seconds(2 * 3600))
        #expect(try await retention.eraseExpired(now: Date().addingTimeInterval(2 * 3600 + 1)) == 1)

        let aged = try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: Self.ceType, key: Self.patient, body: try Self.information())
        _ = try await harness.read(harness.topics.healthReceipts, atLeast: 2)
        try await harness.publishConsent(
            patient: Self.patient,
            try Fixtures.consent(patient: Self.patient, categories: ["identity-and-contact", "work-relevant-health"]))
        let redrive = try #require(harness.redrive)
        #expect(try await redrive.redrive(messageID: erased) == .expired)
        // Past its retention but not erased yet (the service passes every few minutes): the same
        // answer, the payload is not opened.
        var later = redrive
        later.payloadRetention = .zero
        #expect(try await later.redrive(messageID: aged) == .expired)
        // Within its retention the same redrive lets the second through: only age stopped it.
        #expect(try await redrive.redrive(messageID: aged) == .forwarded)
        let forwarded = try await harness.read(harness.topics.followUpInbound, atLeast: 1)
        await harness.stop()
        let store = try await harness.openBridgeStore()
        let expired = try await store.storedRejection(messageID: erased)
        let kept = try await store.storedRejection(messageID: aged)
        await store.close()
        await harness.finish()

        #expect(forwarded.map { $0.headers.string(named: "ce_type") } == [Self.ceType].map(Optional.some))
        #expect(expired?.rejection.sealedPayload == nil && expired?.sealedPayloadErasedAt != nil)
        #expect(expired?.redrivenOutcome == nil)
        #expect(kept?.rejection.sealedPayload != nil && kept?.redrivenOutcome == .forward)
    }

    @Test("R7: a referral rejected for lack of consent is never re-sent by an operator: the clinician sends it anew")
    func R7_referralsAreNotRedriven() async throws {
        let harness = try BridgeHarness()
        try await harness.start()
        let id = try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: Self.patient,
            body: try Fixtures.referral(patient: Self.patient))
        _ = try await harness.read(harness.topics.healthReceipts, atLeast: 1)
        try await harness.publishConsent(patient: Self.patient, try Fixtures.consent(patient: Self.patient))
        let redrive = try #require(harness.redrive)
        let outcome = try await redrive.redrive(messageID: id)
        let forwarded = try await harness.read(harness.topics.followUpInbound, atLeast: 0)
        await harness.finish()
        #expect(outcome == .sendAnew)
        #expect(forwarded.isEmpty)
    }

    @Test("Fail closed: a contract fault is never decided again, and an unknown id is reported as such")
    func redriveRefusesContractFaults() async throws {
        let harness = try BridgeHarness()
        try await harness.start()
        try await harness.publishConsent(patient: Self.patient, try Fixtures.consent(patient: Self.patient))
        var referral = try Fixtures.json("referral/valid/not-sick-listed-minimal.json")
        var person = referral["patient"] as! [String: Any]
        person["fodselsnummer"] = Self.patient
        referral["patient"] = person
        referral["unexpectedField"] = "not in the contract"
        let id = try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: Self.patient,
            body: try Fixtures.bytes(referral))
        let receipts = try await harness.read(harness.topics.healthReceipts, atLeast: 1)
        let redrive = try #require(harness.redrive)
        let outcome = try await redrive.redrive(messageID: id)
        let unknown = try await redrive.redrive(messageID: "no-such-message")
        let forwarded = try await harness.read(harness.topics.followUpInbound, atLeast: 0)
        await harness.finish()

        let receipt = try #require(receipts.first)
        let reason = try #require(try decoded(receipt)["reasonCode"] as? String)
        #expect(reason == "schema-violation")
        #expect(outcome == .notRedrivable(reasonCode: "schema-violation"))
        #expect(unknown == .notFound)
        #expect(forwarded.isEmpty)
    }
}
