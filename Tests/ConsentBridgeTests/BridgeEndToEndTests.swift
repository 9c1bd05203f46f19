import ConsentBridge
import ConsentBridgeTesting
import ConsentConfiguration
import ConsentContracts
import ConsentKafka
import Foundation
import Testing

/// Each rule end to end: events in on the outbound topics, the bridge running on the
/// embedded broker with SQLite, and what comes out on the other side's topics.
@Suite(
    "Bridge end to end (embedded broker; SQLite, and PostgreSQL when available)", .serialized, .timeLimit(.minutes(4)))
struct BridgeEndToEndTests {
    static let patient = "12848740088"

    private func decoded(_ record: KafkaRecord) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(record.value ?? [])) as? [String: Any])
    }

    @Test(
        "R1/R6/R8: a consented referral reaches nav.ips.inbound with only the fields its consent covers",
        arguments: BridgeStoreEngine.available)
    func R1_consentedReferralCarriesOnlyInScopeFields(engine: BridgeStoreEngine) async throws {
        let harness = try await BridgeHarness.make(engine: engine)
        try await harness.start()
        let granted = ["identity-and-contact", "ips-participation"]
        try await harness.publishConsent(
            patient: Self.patient, try Fixtures.consent(patient: Self.patient, categories: granted))
        let id = try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: Self.patient,
            body: try Fixtures.referral(patient: Self.patient))

        let forwarded = try await harness.read(harness.topics.followUpInbound, atLeast: 1)
        let receipts = try await harness.read(harness.topics.healthReceipts, atLeast: 1)
        await harness.finish()
        if ProcessInfo.processInfo.environment["BRIDGE_TEST_DEBUG"] != nil {
            for r in receipts { print("RECEIPT", String(decoding: r.value ?? [], as: UTF8.self)) }
            for l in harness.logs.all where !l.hasPrefix("trace") && !l.hasPrefix("debug") {
                print("LOG", l.prefix(400))
            }
        }

        let record = try #require(forwarded.first)
        #expect(forwarded.count == 1)
        // The copy carries the bridge's own id (the sender's never crosses); the receipt tells
        // the sender which id its event became.
        let receipt = try #require(receipts.first { $0.key == Array(id.utf8) })
        let forwardedID = try #require(try decoded(receipt)["forwardedId"] as? String)
        #expect(record.headers.string(named: "ce_id") == forwardedID)
        #expect(forwardedID != id)
        #expect((try decoded(record))["eventId"] as? String == forwardedID)
        #expect(record.headers.string(named: "cb_policy_version")?.hasPrefix("sha256:") == true)
        // R15: nothing on NAV's side tells which EPJ consent, its version or how much was removed.
        for name in ["cb_consent_id", "cb_consent_version", "cb_removed_fields"] {
            #expect(record.headers.string(named: name) == nil, "\(name) reached NAV")
        }
        #expect(!record.headers.contains { $0.name.hasPrefix("cb-internal-") })

        // No field whose consent category is outside the consent crossed.
        let catalog = try ContractCatalog.load(directory: BridgeHarness.contractsDirectory)
        let contract = try #require(catalog.contract(forCEType: "no.ips.health.referral.v1"))
        let body = try decoded(record)
        for field in contract.fields {
            guard let category = field.consentCategory, !granted.contains(category) else { continue }
            #expect(
                !Self.exists(field.path, in: body),
                "field \(field.path) of category \(category) crossed without consent")
        }
        // What the consent covers did cross: the person is identified (identity-and-contact).
        #expect((body["patient"] as? [String: Any])?["fodselsnummer"] as? String == Self.patient)

        #expect(try decoded(receipt)["outcome"] as? String == "accepted")
    }

    @Test(
        "R1/R7: a referral without consent is rejected with a receipt, and nothing crosses",
        arguments: BridgeStoreEngine.available)
    func R7_referralWithoutConsentIsRejected(engine: BridgeStoreEngine) async throws {
        let harness = try await BridgeHarness.make(engine: engine)
        try await harness.start()
        let id = try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: Self.patient,
            body: try Fixtures.referral(patient: Self.patient))
        let receipts = try await harness.read(harness.topics.healthReceipts, atLeast: 1)
        let rejected = try await harness.read(harness.topics.rejected, atLeast: 1)
        let forwarded = try await harness.read(harness.topics.followUpInbound, atLeast: 0)
        await harness.finish()

        #expect(forwarded.isEmpty)
        let receipt = try decoded(try #require(receipts.first))
        #expect(receipt["messageId"] as? String == id)
        #expect(receipt["outcome"] as? String == "rejected")
        #expect((receipt["reasonCode"] as? String)?.isEmpty == false)
        let notice = try #require(rejected.first)
        let text = String(decoding: notice.value ?? [], as: UTF8.self)
        #expect(!text.contains(Self.patient), "the rejection notice holds the patient's fødselsnummer")
        let sealed = try #require(try decoded(notice)["sealedPayload"] as? [String: Any])
        #expect(sealed["algorithm"] as? String == "aes-256-gcm")
    }

    @Test(
        "An event without a usable ce_type (missing, empty, given twice) is rejected with a receipt and a notice true to its contract, and the bridge goes on",
        arguments: BridgeStoreEngine.available)
    func eventWithoutUsableTypeIsRejected(engine: BridgeStoreEngine) async throws {
        let harness = try await BridgeHarness.make(engine: engine)
        try await harness.start()
        let referral = "no.ips.health.referral.v1"
        let body = try Fixtures.referral(patient: Self.patient)
        var ids: [String] = []
        for typeHeaders in [
            [], [KafkaHeader(name: "ce_type", string: "")],
            [KafkaHeader(name: "ce_type", string: referral), KafkaHeader(name: "ce_type", string: referral)],
        ] {
            ids.append(
                try await harness.publishEvent(
                    topic: harness.topics.healthOutbound, typeHeaders: typeHeaders, key: Self.patient, body: body))
        }
        // Behind them, in the same partition: an ordinary referral without consent.
        ids.append(
            try await harness.publishEvent(
                topic: harness.topics.healthOutbound, ceType: referral, key: Self.patient, body: body))
        let receipts = try await harness.read(harness.topics.healthReceipts, atLeast: 4)
        let rejected = try await harness.read(harness.topics.rejected, atLeast: 4)
        let forwarded = try await harness.read(harness.topics.navInbound, atLeast: 0)
        await harness.finish()

        #expect(forwarded.isEmpty)
        #expect(receipts.count == 4 && rejected.count == 4)
        #expect(try receipts.map { try decoded($0)["outcome"] as? String } == Array(repeating: "rejected", count: 4))
        #expect(try receipts.contains { try decoded($0)["messageId"] as? String == ids.last })
        let catalog = try ContractCatalog.load(directory: BridgeHarness.contractsDirectory)
        let contract = try #require(catalog.contract(forCEType: "no.ips.bridge.rejected.v1"))
        for notice in rejected {
            let value = try StrictJSON.parse(notice.value ?? [])
            #expect(contract.schema.validate(value).isEmpty, "a rejection notice breaks its contract")
            #expect(!String(decoding: notice.value ?? [], as: UTF8.self).contains(Self.patient))
        }
    }

    @Test("R2: an anonymous case discussion before consent arrives anonymized")
    func R2_anonymousDiscussionArrivesAnonymized() async throws {
        let harness = try BridgeHarness()
        try await harness.start()
        var discussion = try Fixtures.json("anonymous-case-discussion/valid/pre-consent-discussion.json")
        let subject = try #require(Self.firstFodselsnummer(in: discussion))
        discussion["eventId"] = UUID().uuidString.lowercased()
        let id = try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: "no.ips.health.case-discussion.v1", key: subject,
            body: try Fixtures.bytes(discussion))
        let forwarded = try await harness.read(harness.topics.followUpInbound, atLeast: 1)
        let receipts = try await harness.read(harness.topics.healthReceipts, atLeast: 1)
        await harness.finish()
        if ProcessInfo.processInfo.environment["BRIDGE_TEST_DEBUG"] != nil {
            for r in receipts { print("RECEIPT", String(decoding: r.value ?? [], as: UTF8.self)) }
        }

        let record = try #require(forwarded.first)
        let text = String(decoding: record.value ?? [], as: UTF8.self)
        #expect(!text.contains(subject))
        #expect(record.key.map { String(decoding: $0, as: UTF8.self) }?.hasPrefix("case-") == true)
        #expect(!(record.key.map { String(decoding: $0, as: UTF8.self) } ?? "").contains(subject))
        let receipt = try decoded(try #require(receipts.first { $0.key == Array(id.utf8) }))
        #expect(receipt["outcome"] as? String == "anonymized")
    }

    @Test("R5: a withdrawal appended before an event stops that event", arguments: BridgeStoreEngine.available)
    func R5_withdrawalAppendedBeforeEventStopsIt(engine: BridgeStoreEngine) async throws {
        let harness = try await BridgeHarness.make(engine: engine)
        try await harness.start()
        try await harness.publishConsent(patient: Self.patient, try Fixtures.consent(patient: Self.patient))
        try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: Self.patient,
            body: try Fixtures.referral(patient: Self.patient))
        #expect(try await harness.read(harness.topics.followUpInbound, atLeast: 1).count == 1)

        // Withdraw, then at once send more: none of them may cross, whichever topic is read first.
        try await harness.publishConsent(
            patient: Self.patient, try Fixtures.consent(patient: Self.patient, status: "withdrawn", version: 2))
        var after: [String] = []
        for _ in 0..<5 {
            after.append(
                try await harness.publishEvent(
                    topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: Self.patient,
                    body: try Fixtures.referral(patient: Self.patient)))
        }
        let receipts = try await harness.read(harness.topics.healthReceipts, atLeast: 6)
        let forwarded = try await harness.read(harness.topics.followUpInbound, atLeast: 0)
        await harness.finish()

        #expect(forwarded.count == 1, "an event sent after the withdrawal crossed")
        for id in after {
            let receipt = try decoded(try #require(receipts.first { $0.key == Array(id.utf8) }))
            #expect(receipt["outcome"] as? String == "rejected")
        }
    }

    @Test("R3: a NAV follow-up note never reaches the health side")
    func R3_navFollowUpNoteNeverReachesHealth() async throws {
        let harness = try BridgeHarness()
        try await harness.start()
        try await harness.publishConsent(patient: Self.patient, try Fixtures.consent(patient: Self.patient))
        var note = try Fixtures.json("follow-up-note/valid/employer-contact.json")
        note["eventId"] = UUID().uuidString.lowercased()
        let id = try await harness.publishEvent(
            topic: harness.topics.followUpOutbound, ceType: "no.ips.nav.follow-up-note.v1", key: Self.patient,
            body: try Fixtures.bytes(note))
        let receipts = try await harness.read(harness.topics.followUpReceipts, atLeast: 1)
        let inbound = try await harness.read(harness.topics.healthInbound, atLeast: 0)
        await harness.finish()

        #expect(inbound.isEmpty)
        let receipt = try decoded(try #require(receipts.first { $0.key == Array(id.utf8) }))
        #expect(receipt["outcome"] as? String == "rejected")
    }

    @Test("canary: a fødselsnummer in a non-consented field appears in no topic, receipt, rejection, store or log line")
    func canaryNeverLeaks() async throws {
        let canary = "17088940180"
        let harness = try BridgeHarness()
        try await harness.start()
        try await harness.publishConsent(
            patient: Self.patient,
            try Fixtures.consent(patient: Self.patient, categories: ["identity-and-contact", "ips-participation"]))
        var information = try Fixtures.json("work-relevant-health-information/valid/\(try Self.fixtureWithComment())")
        var person = information["patient"] as! [String: Any]
        person["fodselsnummer"] = Self.patient
        information["patient"] = person
        information["comment"] = "Ring pasientens bror \(canary) ved behov."
        information["eventId"] = UUID().uuidString.lowercased()
        try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: "no.ips.health.work-relevant-health.v1", key: Self.patient,
            body: try Fixtures.bytes(information))
        // Also a schema-breaking event and an unknown contract carrying the canary.
        try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: "no.ips.health.unknown.v1", key: Self.patient,
            body: Array("{\"x\":\"\(canary)\"}".utf8))
        try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: Self.patient,
            body: Array("{\"patient\":{\"fodselsnummer\":\"\(canary)\"},\"x\":1}".utf8))

        let receipts = try await harness.read(harness.topics.healthReceipts, atLeast: 3)
        #expect(receipts.count == 3)
        var everything: [KafkaRecord] = receipts
        for topic in [
            harness.topics.followUpInbound, harness.topics.healthInbound, harness.topics.navReceipts,
            harness.topics.healthDisclosures,
            harness.topics.navDisclosures, harness.topics.rejected,
        ] {
            everything += try await harness.read(topic, atLeast: 0)
        }
        await harness.stop()
        let storeFiles = try FileManager.default.contentsOfDirectory(atPath: harness.directory).map {
            harness.directory + "/" + $0
        }
        let storeBytes = try storeFiles.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        let logs = harness.logs.all
        await harness.finish()

        for record in everything {
            let text = String(
                decoding: (record.key ?? []) + (record.value ?? [])
                    + record.headers.flatMap { Array($0.name.utf8) + ($0.value ?? []) }, as: UTF8.self)
            #expect(!text.contains(canary), "canary found on \(record.topic)")
        }
        for (file, bytes) in zip(storeFiles, storeBytes) {
            #expect(bytes.range(of: Data(canary.utf8)) == nil, "canary found in \(file)")
        }
        #expect(!logs.isEmpty)
        #expect(!logs.contains { $0.contains(canary) }, "canary found in a log line")
    }

    // MARK: Helpers

    static func exists(_ path: [String], in value: Any) -> Bool {
        guard let first = path.first else { return true }
        if first == "[]", let items = value as? [Any] {
            return items.contains { exists(Array(path.dropFirst()), in: $0) }
        }
        guard let object = value as? [String: Any], let child = object[first] else { return false }
        return exists(Array(path.dropFirst()), in: child)
    }

    static func firstFodselsnummer(in value: Any) -> String? {
        if let object = value as? [String: Any] {
            if let direct = object["fodselsnummer"] as? String { return direct }
            for child in object.values { if let found = firstFodselsnummer(in: child) { return found } }
        }
        if let items = value as? [Any] {
            for item in items { if let found = firstFodselsnummer(in: item) { return found } }
        }
        return nil
    }

    static func fixtureWithComment() throws -> String {
        let folder = URL(fileURLWithPath: BridgeHarness.contractsDirectory).appendingPathComponent(
            "examples/work-relevant-health-information/valid")
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() {
            let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            if text.contains("\"comment\"") { return name }
        }
        return "missing"
    }
}
