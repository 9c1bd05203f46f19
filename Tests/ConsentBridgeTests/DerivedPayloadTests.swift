import ConsentBridge
import ConsentBridgeTesting
import ConsentConfiguration
import ConsentContracts
import ConsentKafka
import ConsentPolicy
import ConsentStorage
import Foundation
import Logging
import SQLKit
import Testing

/// The store keeps no receipt or notice payload for an identified forward: it builds them
/// again from the decision's rows when the relay reads the outbox (after a restart, a handoff
/// overflow, or always on a shared PostgreSQL store). What it builds must be what the bridge
/// built, byte for byte, and valid against the published contracts.
@Suite("Receipts and notices built again from the store (SQLite, and PostgreSQL when available)", .serialized)
struct DerivedPayloadTests {
    static let patient = "03919540000"

    @Test(
        "R4/R15: every outbox row read back from the store equals the row handed to the relay; receipts and notices of identified forwards keep no stored payload",
        arguments: BridgeStoreEngine.available)
    func readBackEqualsHandedOver(engine: BridgeStoreEngine) async throws {
        let harness = try await BridgeHarness.make(engine: engine)
        let store = try await harness.openBridgeStore()
        let catalog = try PolicyCatalog.load(directory: BridgeHarness.contractsDirectory)
        let messages = try Self.forwards(40, topics: harness.topics, catalog: catalog, offsetBase: 0)
        let handed = try await store.record(BridgeBatch(messages: messages, offsets: []))
        let readBack = try await store.pendingOutbox(limit: 10_000)
        let stored = try await store.database.read { sql in
            try await sql.raw("SELECT derived, payload FROM outbox_records ORDER BY seq").all().map {
                (try $0.decode(column: "derived", as: String?.self), try $0.decode(column: "payload", as: Data.self))
            }
        }
        let storedRows = try await store.database.read { sql in
            try await sql.raw("SELECT COUNT(*) AS n FROM outbox").first()?.decode(column: "n", as: Int.self)
        }
        await store.close()
        await harness.finish()

        #expect(readBack.count == handed.outbox.count)
        for (back, original) in zip(readBack, handed.outbox) {
            // Compared as text first (a readable difference), then as whole records.
            #expect(
                String(decoding: back.record.payload, as: UTF8.self)
                    == String(decoding: original.record.payload, as: UTF8.self))
            let same = back.record == original.record
            #expect(same, "row \(back.sequence) (\(back.record.topic)) differs from what was handed over")
        }
        // Each forward: a receipt and a notice per copy derived; the copies themselves stored.
        let derived = handed.outbox.filter { $0.record.derivation != nil }
        #expect(derived.count == handed.outbox.count - handed.outbox.filter { $0.record.disclosureID != nil }.count)
        #expect(Set(derived.compactMap(\.record.derivation)) == Set(OutboxPayloadDerivation.allCases))
        #expect(stored.count == handed.outbox.count)
        #expect(stored.allSatisfy { ($0.0 == nil) != $0.1.isEmpty }, "payload stored exactly when not derived")
        // The derived records ride in their copies' rows: one stored row per copy.
        #expect(storedRows == handed.outbox.count - derived.count)
        // What is built again is valid against the published contracts.
        for row in readBack {
            let type = try #require(row.record.headerText(BridgeHeaders.type))
            let schema = try #require(catalog.plan(forCEType: type)?.contract.schema)
            #expect(schema.isValid(try StrictJSON.parse(row.record.payload)), "\(type)")
        }
    }

    @Test(
        "R4/R6: receipts and notices the running relay builds again from the store reach their topics as first built, valid against their published contracts",
        arguments: BridgeStoreEngine.available)
    func rebuiltRecordsReachTheirTopics(engine: BridgeStoreEngine) async throws {
        let harness = try await BridgeHarness.make(engine: engine)
        try await harness.start()
        try await harness.publishConsent(patient: Self.patient, try Fixtures.consent(patient: Self.patient))
        // Once an event through the pipeline is receipted, the bridge's view holds the consent
        // the relay re-checks each copy against.
        _ = try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: Self.patient,
            body: try Fixtures.referral(patient: Self.patient))
        _ = try await harness.read(harness.topics.healthReceipts, atLeast: 1)

        // Recorded behind the running bridge's back: nothing is handed to its relay, which finds
        // the rows in the store, where receipts and notices have no payload.
        let catalog = try PolicyCatalog.load(directory: BridgeHarness.contractsDirectory)
        let messages = try Self.forwards(10, topics: harness.topics, catalog: catalog, offsetBase: 1_000_000)
        let store = try await harness.openBridgeStore()
        let recorded = try await store.record(BridgeBatch(messages: messages, offsets: []))
        await store.close()
        let expected = recorded.outbox.filter { $0.record.derivation != nil }.map(\.record)
        var received: [String: [UInt8]] = [:]  // "topic ce_id" -> value
        for (topic, rows) in Dictionary(grouping: expected, by: \.topic) {
            let ids = Set(rows.compactMap { $0.headerText(BridgeHeaders.id) })
            let deadline = ContinuousClock.now + .seconds(30)
            var records: [KafkaRecord] = []
            repeat {
                records = try await harness.read(topic, atLeast: 0).filter {
                    ids.contains($0.headers.string(named: "ce_id") ?? "")
                }
            } while records.count < ids.count && ContinuousClock.now < deadline
            for record in records {
                received[topic + " " + (record.headers.string(named: "ce_id") ?? "")] = record.value
            }
        }
        await harness.finish()

        #expect(
            expected.count == messages.count + messages.reduce(0) { $0 + $1.disclosures.count },
            "a receipt per forward and a notice per copy")
        for row in expected {
            let id = try #require(row.headerText(BridgeHeaders.id))
            let value = try #require(received[row.topic + " " + id], "\(row.topic) \(id) never arrived")
            #expect(
                String(decoding: value, as: UTF8.self) == String(decoding: row.payload, as: UTF8.self),
                "\(row.topic): what the receiver got differs from what the bridge built")
            let type = try #require(row.headerText(BridgeHeaders.type))
            let schema = try #require(catalog.plan(forCEType: type)?.contract.schema)
            #expect(schema.isValid(try StrictJSON.parse(value)), "\(type) on \(row.topic)")
        }
    }

    @Test(
        "R9: once every record of an outbox row is settled, its payload and keys are erased; records still pending read back as handed over, also a receipt whose first copy's row is erased",
        arguments: BridgeStoreEngine.available)
    func settledContentIsErased(engine: BridgeStoreEngine) async throws {
        let harness = try await BridgeHarness.make(engine: engine)
        let store = try await harness.openBridgeStore()
        let catalog = try PolicyCatalog.load(directory: BridgeHarness.contractsDirectory)
        let messages = try Self.forwards(6, topics: harness.topics, catalog: catalog, offsetBase: 0)
        let records = try await store.record(BridgeBatch(messages: messages, offsets: [])).outbox
        // The relay stops in the row of a receipt that follows its message's second copy: that
        // row keeps its content, the first copy's row (its records all published) does not.
        let copies = Dictionary(grouping: records.filter { $0.record.disclosureID != nil }, by: \.messageID)
        let cut = try #require(
            records.indices.first {
                records[$0].record.derivation == .receipt && (copies[records[$0].messageID]?.count ?? 0) > 1
            }, "no forward with two copies: the test proves nothing")
        try await store.markPublished(sequences: records[..<cut].map(\.sequence))
        let mark = records[cut - 1].sequence

        let rest = try await store.pendingOutbox(limit: 10_000)
        #expect(rest.map(\.sequence) == records[cut...].map(\.sequence))
        for (back, original) in zip(rest, records[cut...]) {
            #expect(back.record == original.record, "row \(back.sequence) (\(back.record.topic)) differs")
        }
        let halfway = try await store.storedOutboxContent()
        #expect(halfway.contains { $0.isErased } && halfway.contains { !$0.isErased })
        for row in halfway {
            #expect(row.isErased == (row.sequence + row.records - 1 <= mark), "row \(row.sequence)")
        }
        // Withheld or published, a settled record's row keeps no content.
        try await store.markWithheld(sequence: records[cut].sequence, reasonCode: "consent-withdrawn")
        try await store.markPublished(sequences: records[(cut + 1)...].map(\.sequence))
        let settled = try await store.storedOutboxContent()
        // What the bridge answers for stays: every disclosure, every record's status.
        let disclosures = try await store.disclosures(subjectID: Self.patient)
        let statuses = try await store.database.read { sql in
            try await sql.raw("SELECT status FROM outbox_status ORDER BY seq").all().map {
                try $0.decode(column: "status", as: String.self)
            }
        }
        await store.close()
        await harness.finish()

        #expect(settled.allSatisfy { $0.isErased }, "a settled row still holds a copy's content")
        #expect(Set(disclosures.map(\.disclosureID)) == Set(messages.flatMap(\.disclosures).map(\.disclosureID)))
        #expect(statuses.count == records.count && statuses.filter { $0 == "withheld" }.count == 1)
        #expect(!statuses.contains("pending"))
    }

    @Test(
        "A receipt or notice whose recorded sources are missing is refused when read: the relay halts instead of publishing it",
        arguments: BridgeStoreEngine.available)
    func missingSourcesAreRefused(engine: BridgeStoreEngine) async throws {
        let harness = try await BridgeHarness.make(engine: engine)
        let store = try await harness.openBridgeStore()
        let id = UUID().uuidString.lowercased()
        let decision = DecisionRecord(
            messageID: id, sourceTopic: harness.topics.healthOutbound, partition: 0, offset: 1,
            ceType: "no.ips.health.referral.v1", outcome: .forward, reasonCode: nil, consentID: "c", consentVersion: 1,
            bridgeVersion: "test", decidedAt: Date())
        let notice = OutboxRecord(
            topic: harness.topics.healthDisclosures, key: Array(Self.patient.utf8),
            headers: [
                MessageHeader(name: BridgeHeaders.id, text: "disclosure:x"),
                MessageHeader(name: BridgeHeaders.internalFollows, text: UUID().uuidString.lowercased()),
            ],
            payload: Array("{}".utf8), derivation: .notice)
        _ = try await store.record(
            BridgeBatch(messages: [BridgeMessageRecord(decision: decision, outbox: [notice])], offsets: []))
        let error = await #expect(throws: StorageError.self) { try await store.pendingOutbox(limit: 10) }
        // The recovery reads ids only and is not stopped by it.
        let idsOnly = try await store.pendingOutbox(limit: 10, derivingPayloads: false)
        await store.close()
        await harness.finish()

        #expect(error?.code == .corruptRow)
        #expect(idsOnly.map(\.record.payload) == [[]])
    }

    /// `count` forwards for `patient` decided under a full consent, alternating between a health
    /// referral and a NAV follow-up job-status update (the health side's notices name the
    /// consent, NAV's do not, R15), built by the bridge's own record builder.
    static func forwards(_ count: Int, topics: TopicNames, catalog: PolicyCatalog, offsetBase: Int64) throws
        -> [BridgeMessageRecord]
    {
        let builder = Fixtures.recordBuilder(topics, catalog: catalog)
        var view = ConsentView()
        _ = view.apply(
            try ConsentRecord.parse(Fixtures.consent(patient: Self.patient), schema: #require(catalog.consentSchema)))
        var jobStatus = try Fixtures.json("job-status-update/valid/job-started.json")
        jobStatus["participant"] = ["fodselsnummer": Self.patient]
        let events: [(topic: String, type: String, body: [UInt8], origin: BridgeSide)] = [
            (topics.healthOutbound, "no.ips.health.referral.v1", try Fixtures.referral(patient: Self.patient), .health),
            (topics.followUpOutbound, "no.ips.nav.job-status.v1", try Fixtures.bytes(jobStatus), .nav),
        ]
        var messages: [BridgeMessageRecord] = []
        for index in 0..<count {
            let event = events[index % events.count]
            var body = try StrictJSON.parse(event.body)
            if case .object(var object) = body {
                object["eventId"] = .string(UUID().uuidString.lowercased())
                body = .object(object)
            }
            let headers = CloudEventHeaders(id: UUID().uuidString.lowercased(), type: event.type)
            let decision = PolicyEngine.decide(
                event: PolicyEvent(headers: headers, body: body.serializedBytes(), sourceTopic: event.topic),
                consent: view, contracts: catalog, now: Timestamp(date: Date()), caseReference: CaseReference.random())
            guard case .forward = decision else {
                throw TestFailure("the consent should let \(event.type) through: \(decision)")
            }
            let record = KafkaRecord(
                topic: event.topic, partition: Int32(index % 3), offset: offsetBase + Int64(index),
                key: Array(Self.patient.utf8), value: body.serializedBytes(), headers: [], timestamp: nil)
            messages.append(
                try builder.build(
                    record: record, headers: headers, origin: event.origin, decision: decision, now: Date()))
        }
        return messages
    }

    struct TestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
