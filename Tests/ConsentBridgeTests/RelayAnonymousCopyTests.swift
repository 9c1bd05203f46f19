import ConsentBridge
import ConsentBridgeTesting
import ConsentConfiguration
import ConsentContracts
import ConsentKafka
import ConsentPolicy
import ConsentResilience
import ConsentStorage
import Foundation
import Logging
import Testing

/// R4 for the anonymous form (R2): the journal records an anonymous disclosure truthfully. An
/// anonymous copy's notice and receipt wait for the copy's delivery report as an identified
/// copy's do, and say withheld when it never crossed, also after a restart; the copy itself is
/// not re-checked against a consent it needs none of.
@Suite(
    "Relay: anonymous copies (embedded broker; SQLite, and PostgreSQL when available)", .serialized,
    .timeLimit(.minutes(4)))
struct RelayAnonymousCopyTests {
    /// Someone without an IPS consent: a case discussion about them crosses only anonymously.
    static let unconsented = "15860250028"

    /// A case discussion about `unconsented` (valid by its contract).
    static func discussion() throws -> [UInt8] {
        try Fixtures.with(
            subject: unconsented, at: ["patient", "fodselsnummer"],
            in: try #require(try Fixtures.validExamples("anonymous-case-discussion").first))
    }

    /// The published contract of `ceType` (what the other side's sink validates against).
    /// `body` of `ceType` decided without any consent, so anonymously, and built into the
    /// records the pipeline would store, as if read at `offset` of `sourceTopic` under `key`:
    /// for recording behind a running bridge's back. Nil (with an issue recorded) when the
    /// policy did not decide the anonymous form.
    static func decidedAnonymously(
        _ body: [UInt8], type ceType: String, id: String = UUID().uuidString.lowercased(), from sourceTopic: String,
        origin: BridgeSide, key: String, offset: Int64, topics: TopicNames, catalog: PolicyCatalog
    ) throws -> BridgeMessageRecord? {
        let headers = CloudEventHeaders(id: id, type: ceType)
        let decision = PolicyEngine.decide(
            event: PolicyEvent(headers: headers, body: body, sourceTopic: sourceTopic),
            consent: ConsentView(), contracts: catalog, now: Timestamp(date: Date()),
            caseReference: CaseReference.random())
        guard case .forwardAnonymous = decision else {
            Issue.record("\(ceType) without consent should cross anonymously: \(decision)")
            return nil
        }
        let record = KafkaRecord(
            topic: sourceTopic, partition: 0, offset: offset, key: Array(key.utf8), value: body, headers: [],
            timestamp: nil)
        return try Fixtures.recordBuilder(topics, catalog: catalog).build(
            record: record, headers: headers, origin: origin, decision: decision, now: Date())
    }

    static func contract(_ ceType: String) throws -> JSONSchema {
        try #require(try ContractCatalog.load(directory: BridgeHarness.contractsDirectory).contract(forCEType: ceType))
            .schema
    }

    @Test(
        "R4/R2: an anonymous copy NAV's cluster refuses is reported to the journal as withheld (refused-by-broker), never as disclosed; the receipt says not forwarded; also when they go out only after a restart",
        arguments: BridgeStoreEngine.available)
    func R4_refusedAnonymousCopyIsReportedWithheldAcrossARestart(engine: BridgeStoreEngine) async throws {
        let harness = try await BridgeHarness.make(
            engine: engine, environment: ["CONSENT_BRIDGE_RELAY_SHUTDOWN_DRAIN_MS": "2000"])
        let nav = try harness.makeNavCluster()
        defer { nav.shutdown() }
        try await harness.start(navCluster: nav)
        let topics = harness.topics
        // The relay is up (its start-up recovery done) once a probe's receipt is out.
        _ = try await harness.publishEvent(
            topic: topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: "03919540000",
            body: try Fixtures.referral(patient: "03919540000"))
        _ = try await harness.read(topics.healthReceipts, atLeast: 1)

        // First while the bridge runs: INVALID_RECORD (87), NAV's cluster refuses the copy.
        nav.pushRequestErrors(.produce, Array(repeating: .broker(87), count: 5))
        let first = try await harness.publishEvent(
            topic: topics.healthOutbound, ceType: "no.ips.health.case-discussion.v1", key: Self.unconsented,
            body: try Self.discussion())
        let store = try await harness.openBridgeStore()
        try await WholeProductTests.poll("the relay settles the first copy as refused", timeout: .seconds(60)) {
            try await store.failedOutboxCount() == 1
        }
        // Then with the journal's notice and receipt topics without a leader: what reports on the
        // copy waits in the producer, and is still pending in the store when the bridge stops (as
        // after a kill -9, or with the health side's cluster unreachable).
        let reportTopics = [topics.healthDisclosures, topics.healthReceipts]
        func setLeaders(_ broker: Int32) { harness.cluster.setLeaders(of: reportTopics, to: broker) }
        // Once the first copy's notice and receipt are out.
        _ = try await harness.read(topics.healthDisclosures, atLeast: 1, timeout: .seconds(30))
        _ = try await harness.read(topics.healthReceipts, atLeast: 2, timeout: .seconds(30))
        setLeaders(-1)
        nav.pushRequestErrors(.produce, Array(repeating: .broker(87), count: 5))
        let second = try await harness.publishEvent(
            topic: topics.healthOutbound, ceType: "no.ips.health.case-discussion.v1", key: Self.unconsented,
            body: try Self.discussion())
        try await WholeProductTests.poll("the relay settles the second copy as refused", timeout: .seconds(60)) {
            try await store.failedOutboxCount() == 2
        }
        await store.close()
        await harness.stop()
        let stopped = try await harness.openBridgeStore()
        let pendingAtStop = try await stopped.pendingOutboxCount()
        await stopped.close()
        #expect(pendingAtStop == 2, "premise: the second copy's notice and receipt are pending when the bridge stops")

        // Restarted, with the journal's topics reachable again: the relay's memory of the refusal
        // is gone, and only the store can say what became of the copy.
        setLeaders(1)
        try await harness.start(navCluster: nav)
        let ids = [first, second]
        let notices = try await harness.read(topics.healthDisclosures, atLeast: 2, timeout: .seconds(30)).filter {
            (try? DisclosureNotice(json: StrictJSON.parse($0.value ?? []))).map { ids.contains($0.messageID) } == true
        }
        let receipts = try await harness.read(topics.healthReceipts, atLeast: 3, timeout: .seconds(30)).filter {
            ids.contains(String(decoding: $0.key ?? [], as: UTF8.self))
        }
        await harness.stop()
        let forwarded = try await BridgeHarness.read(
            topics.followUpInbound, bootstrap: nav.bootstrapServers, atLeast: 0)
        let after = try await harness.openBridgeStore()
        let withheld = try await after.withheldDisclosureIDs()
        let pending = try await after.pendingOutboxCount()
        let deliveries = try await after.deliveryCounts(destinations: [topics.followUpInbound])
        await after.close()
        await harness.finish()

        #expect(forwarded.isEmpty, "premise: no copy crossed")
        #expect(notices.count == 2 && receipts.count == 2)
        let noticeContract = try Self.contract(DisclosureNotice.ceType)
        for notice in notices {
            let value = try StrictJSON.parse(notice.value ?? [])
            #expect(noticeContract.validate(value).isEmpty, "a notice breaks its contract")
            let body = try DisclosureNotice(json: value)
            #expect(body.status == .withheld, "the journal reads a refused anonymous copy as disclosed")
            #expect(body.withheldReason == "refused-by-broker")
            #expect(body.form == .anonymous && body.subjectID == Self.unconsented)
            #expect(withheld.contains(body.disclosureID), "the refusal is recorded as a withholding")
        }
        let receiptContract = try Self.contract(BridgeReceipt.ceType)
        for receipt in receipts {
            let value = try StrictJSON.parse(receipt.value ?? [])
            #expect(receiptContract.validate(value).isEmpty, "a receipt breaks its contract")
            let body = try BridgeReceipt(json: value)
            #expect(body.outcome == .withheld, "the clinician reads anonymized for a copy refused")
            #expect(body.reasonCode == "refused-by-broker" && body.forwardedID == nil)
        }
        #expect(pending == 0)
        #expect(
            Set(deliveries) == [
                DeliveryCount(destinationTopic: topics.followUpInbound, form: "anonymous", status: "failed", count: 2)
            ])
    }

    @Test(
        "R4/R2: an anonymous copy that is delivered gets its disclosed notice and anonymized receipt only after its delivery report; it crosses without a consent re-check and carries nothing identifying, no trace and no internal header"
    )
    func R4_deliveredAnonymousCopysNoticeFollowsItsDelivery() async throws {
        let harness = try BridgeHarness()
        let nav = try harness.makeNavCluster()
        defer { nav.shutdown() }
        try await harness.start(navCluster: nav)
        let topics = harness.topics
        _ = try await harness.publishEvent(
            topic: topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: "03919540000",
            body: try Fixtures.referral(patient: "03919540000"))
        _ = try await harness.read(topics.healthReceipts, atLeast: 1)

        // The job specialist's follow-up solution unreachable for a while: the copy waits.
        func setLeaders(_ broker: Int32) { nav.setLeaders(of: [topics.followUpInbound], to: broker) }
        setLeaders(-1)
        let id = try await harness.publishEvent(
            topic: topics.healthOutbound,
            typeHeaders: [
                KafkaHeader(name: "ce_type", string: "no.ips.health.case-discussion.v1"),
                KafkaHeader(name: "traceparent", string: TraceContextTests.parent),
            ],
            key: Self.unconsented, body: try Self.discussion())
        let store = try await harness.openBridgeStore()
        try await WholeProductTests.poll("the discussion is decided", timeout: .seconds(30)) {
            try await store.hasRecorded(messageID: id)
        }
        await store.close()
        // Longer than the relay takes to publish what is not held (milliseconds).
        try await Task.sleep(for: .seconds(3))
        let ours = { (record: KafkaRecord) in
            (try? DisclosureNotice(json: StrictJSON.parse(record.value ?? [])))?.messageID == id
        }
        let noticesEarly = try await harness.read(topics.healthDisclosures, atLeast: 0).filter(ours)
        let receiptsEarly = try await harness.read(topics.healthReceipts, atLeast: 0).filter {
            $0.key == Array(id.utf8)
        }

        setLeaders(1)
        let copies = try await BridgeHarness.read(
            topics.followUpInbound, bootstrap: nav.bootstrapServers, atLeast: 1, timeout: .seconds(30))
        let notices = try await harness.read(topics.healthDisclosures, atLeast: 1, timeout: .seconds(30)).filter(ours)
        let receipts = try await harness.read(topics.healthReceipts, atLeast: 2, timeout: .seconds(30)).filter {
            $0.key == Array(id.utf8)
        }
        await harness.stop()
        let after = try await harness.openBridgeStore()
        let withheld = try await after.withheldDisclosureIDs()
        await after.close()
        await harness.finish()

        #expect(noticesEarly.isEmpty, "the journal read disclosed before the copy was delivered")
        #expect(receiptsEarly.isEmpty, "the clinician read anonymized before the copy was delivered")
        let copy = try #require(copies.first)
        #expect(copies.count == 1)
        let copyID = try #require(copy.headers.string(named: "ce_id"))
        // What the follow-up solution receives is as before: nothing identifying, no trace (it
        // would tie the copy to the sender's event), none of the relay's own headers.
        #expect(!String(decoding: copy.value ?? [], as: UTF8.self).contains(Self.unconsented))
        #expect(String(decoding: copy.key ?? [], as: UTF8.self).hasPrefix("case-"))
        #expect(
            Set(copy.headers.map(\.name)) == [
                "ce_id", "ce_type", "ce_source", "ce_time", "ce_specversion", "content-type", "cb_policy_version",
                "cb_bridge_version",
            ])
        #expect(notices.count == 1 && receipts.count == 1)
        let noticeValue = try StrictJSON.parse(try #require(notices.first?.value))
        #expect(try Self.contract(DisclosureNotice.ceType).validate(noticeValue).isEmpty)
        let notice = try DisclosureNotice(json: noticeValue)
        #expect(notice.status == .disclosed && notice.withheldReason == nil)
        #expect(notice.form == .anonymous && notice.disclosureID == copyID)
        let receipt = try BridgeReceipt(json: StrictJSON.parse(try #require(receipts.first?.value)))
        #expect(receipt.outcome == .anonymized && receipt.forwardedID == copyID)
        for record in notices + receipts {
            #expect(record.headers.allSatisfy { !$0.name.hasPrefix(BridgeHeaders.internalPrefix) })
            #expect(record.headers.string(named: "traceparent") != nil, "the sender's side keeps its trace")
        }
        #expect(withheld.isEmpty)
    }

    @Test(
        "R15/R4/R2: an anonymous copy of what NAV sent, refused by the health side's cluster: NAV gets no notice and a receipt that says not delivered, as for an identified copy; the journal receives nothing"
    )
    func R15_refusedAnonymousCopyOfNavsEventIsNotDelivered() async throws {
        let harness = try BridgeHarness()
        let nav = try harness.makeNavCluster()
        defer { nav.shutdown() }
        try await harness.start(navCluster: nav)
        let topics = harness.topics
        let navProducer = try KafkaProducer(
            configuration: KafkaClientConfiguration(bootstrapServers: nav.bootstrapServers),
            logger: Logger(label: "p") { _ in SwiftLogNoOpLogHandler() })
        func publishToNav(_ body: [UInt8]) async throws -> String {
            let id = UUID().uuidString.lowercased()
            _ = try await navProducer.send(
                KafkaOutgoingRecord(
                    topic: topics.navOutbound, key: Array(Self.unconsented.utf8), value: body,
                    headers: [
                        KafkaHeader(name: "ce_id", string: id),
                        KafkaHeader(name: "ce_type", string: "no.ips.nav.candidate-suggestion.v1"),
                        KafkaHeader(name: "ce_source", string: "urn:test"),
                        KafkaHeader(name: "ce_specversion", string: "1.0"),
                        KafkaHeader(name: "ce_time", string: "2026-06-01T10:00:00Z"),
                        KafkaHeader(name: "content-type", string: "application/json"),
                    ]))
            return id
        }
        let suggestion = try Fixtures.with(
            subject: Self.unconsented, at: ["candidate", "fodselsnummer"],
            in: try #require(try Fixtures.validExamples("candidate-suggestion").first))
        // A first suggestion crosses (anonymously): NAV's pipeline and the relay are up.
        let delivered = try await publishToNav(suggestion)
        _ = try await BridgeHarness.read(
            topics.navReceipts, bootstrap: nav.bootstrapServers, atLeast: 1, timeout: .seconds(60))
        // INVALID_RECORD (87): the health side's cluster refuses the next copy.
        harness.cluster.pushRequestErrors(.produce, Array(repeating: .broker(87), count: 5))
        let refused = try await publishToNav(suggestion)
        let receipts = try await BridgeHarness.read(
            topics.navReceipts, bootstrap: nav.bootstrapServers, atLeast: 2, timeout: .seconds(60))
        let store = try await harness.openBridgeStore()
        try await WholeProductTests.poll("every row is settled", timeout: .seconds(30)) {
            try await store.pendingOutboxCount() == 0
        }
        let failed = try await store.failedOutboxCount()
        let withheld = try await store.withheldDisclosureIDs()
        await store.close()
        let notices = try await BridgeHarness.read(topics.navDisclosures, bootstrap: nav.bootstrapServers, atLeast: 0)
        await navProducer.close()
        await harness.stop()
        let inbound = try await harness.read(topics.healthInbound, atLeast: 0)
        await harness.finish()

        #expect(failed == 1 && withheld.count == 1, "premise: the copy was refused")
        #expect(inbound.count == 1, "only the first suggestion's copy reached the journal")
        let told = try notices.map { try DisclosureNotice(json: StrictJSON.parse($0.value ?? [])) }
        #expect(told.map(\.messageID) == [delivered], "NAV was told of a disclosure that never happened")
        #expect(told.allSatisfy { $0.status == .disclosed && $0.form == .asConsented })
        let receiptContract = try Self.contract(BridgeReceipt.ceType)
        func receipt(_ id: String) throws -> BridgeReceipt {
            let value = try StrictJSON.parse(try #require(receipts.first { $0.key == Array(id.utf8) }?.value))
            #expect(receiptContract.validate(value).isEmpty)
            return try BridgeReceipt(json: value)
        }
        #expect(try receipt(delivered).outcome == .accepted)
        // R15: one neutral reason, as for an identified copy refused or withheld.
        let notDelivered = try receipt(refused)
        #expect(notDelivered.outcome == .rejected && notDelivered.reasonCode == BridgeReceipt.notDelivered)
        #expect(notDelivered.forwardedID == nil)
    }

    @Test(
        "R4/R2: an anonymous copy larger than its cluster takes is withheld before it is sent (too-large-for-broker), and its notice and receipt say so; only the size is checked, not a consent"
    )
    func R4_tooLargeAnonymousCopyIsWithheld() async throws {
        let harness = try BridgeHarness()
        let topics = harness.topics
        let catalog = try PolicyCatalog.load(directory: BridgeHarness.contractsDirectory)
        // Two discussions decided without any consent (anonymous form), one for each relay below.
        var messages: [BridgeMessageRecord] = []
        for offset in 0..<2 {
            guard
                let message = try Self.decidedAnonymously(
                    try Self.discussion(), type: "no.ips.health.case-discussion.v1", from: topics.healthOutbound,
                    origin: .health, key: Self.unconsented, offset: Int64(offset), topics: topics, catalog: catalog)
            else {
                await harness.finish()
                return
            }
            messages.append(message)
        }
        let store = try await harness.openBridgeStore()
        let client = KafkaClientConfiguration(bootstrapServers: harness.cluster.bootstrapServers)
        let producer = try KafkaProducer(
            configuration: client, logger: Logger(label: "p") { _ in SwiftLogNoOpLogHandler() })
        let admin = try KafkaAdmin(configuration: client, logger: Logger(label: "a") { _ in SwiftLogNoOpLogHandler() })
        // A relay of the real kind on the real store, whose NAV side takes records of 100 bytes
        // at most (far below any copy), then one whose NAV side takes the default.
        func relay(navBytes: Int) throws -> OutboxRelay {
            let keeper = ConsentViewKeeper(consentSchema: try #require(catalog.consentSchema))
            return OutboxRelay(
                store: store, producers: [.health: producer, .nav: producer],
                destinationClusters: [.health: .unchecked, .nav: .unchecked], clients: [.health: client, .nav: client],
                topics: topics, consent: keeper,
                gate: ConsentGate(
                    keeper: keeper, consentTopic: topics.healthConsent, partitionCount: 1, watermarkSource: admin,
                    consentCluster: .unchecked),
                catalog: catalog, handoff: OutboxHandoff(), retry: RetryPolicy(),
                logger: Logger(label: "relay") { _ in SwiftLogNoOpLogHandler() }, metrics: BridgeMetrics(),
                maxRecordBytes: [.health: 1_000_000, .nav: navBytes])
        }
        _ = try await store.record(BridgeBatch(messages: [messages[0]], offsets: []))
        while try await relay(navBytes: 100).publishPending() > 0 {}
        _ = try await store.record(BridgeBatch(messages: [messages[1]], offsets: []))
        while try await relay(navBytes: 1_000_000).publishPending() > 0 {}
        let withheld = try await store.withheldDisclosureIDs()
        let pending = try await store.pendingOutboxCount()
        let deliveries = try await store.deliveryCounts(destinations: [topics.followUpInbound])
        await store.close()
        await producer.close()
        await admin.close()
        let copies = try await harness.read(topics.followUpInbound, atLeast: 1)
        let notices = try await harness.read(topics.healthDisclosures, atLeast: 2)
        let receipts = try await harness.read(topics.healthReceipts, atLeast: 2)
        await harness.finish()

        let ids = messages.map(\.decision.messageID)
        let noticeContract = try Self.contract(DisclosureNotice.ceType)
        func notice(_ id: String) throws -> DisclosureNotice {
            let record = try #require(
                notices.first { (try? DisclosureNotice(json: StrictJSON.parse($0.value ?? [])))?.messageID == id })
            let value = try StrictJSON.parse(record.value ?? [])
            #expect(noticeContract.validate(value).isEmpty)
            return try DisclosureNotice(json: value)
        }
        func receipt(_ id: String) throws -> BridgeReceipt {
            try BridgeReceipt(json: StrictJSON.parse(try #require(receipts.first { $0.key == Array(id.utf8) }?.value)))
        }
        #expect(pending == 0)
        // The first: withheld for its size.
        let tooLarge = try notice(ids[0])
        #expect(tooLarge.status == .withheld && tooLarge.withheldReason == "too-large-for-broker")
        #expect(tooLarge.form == .anonymous)
        #expect(withheld == [tooLarge.disclosureID])
        #expect(try receipt(ids[0]).outcome == .withheld && receipt(ids[0]).reasonCode == "too-large-for-broker")
        // The second crossed: an anonymous copy is not withheld for lacking what a consent
        // re-check reads (the person, the categories).
        let crossed = try notice(ids[1])
        #expect(crossed.status == .disclosed)
        #expect(copies.map { $0.headers.string(named: "ce_id") } == [crossed.disclosureID])
        #expect(try receipt(ids[1]).outcome == .anonymized && receipt(ids[1]).forwardedID == crossed.disclosureID)
        #expect(
            Set(deliveries) == [
                DeliveryCount(
                    destinationTopic: topics.followUpInbound, form: "anonymous", status: "withheld", count: 1),
                DeliveryCount(
                    destinationTopic: topics.followUpInbound, form: "anonymous", status: "published", count: 1),
            ])
    }

    /// What the person's consent became between the decision and the relay: withdrawn, deleted
    /// (a tombstone after a record), or nothing at all (never had one).
    static let changesSinceTheDecision = ["withdrawn", "tombstone", "never had consent"]

    @Test(
        "R5/R2/R4: an anonymous copy decided before the person's consent was withdrawn (or deleted) is withheld (consent-withdrawn): it never reaches the job specialist, the journal's notice says withheld, the receipt says not forwarded; a person who never had a consent keeps the anonymous path; nothing identifying crosses, and the stored copy's person is erased once settled",
        arguments: changesSinceTheDecision, BridgeStoreEngine.available)
    func R5_anonymousCopyDecidedBeforeAWithdrawalIsWithheld(change: String, engine: BridgeStoreEngine) async throws {
        let person = Self.unconsented
        let harness = try await BridgeHarness.make(engine: engine)
        try await harness.start()
        let topics = harness.topics
        let granted = try Fixtures.consent(patient: person)
        var withdrawn = try JSONSerialization.jsonObject(with: Data(granted)) as! [String: Any]
        withdrawn["version"] = 2
        withdrawn["status"] = "withdrawn"
        switch change {
        case "withdrawn":
            try await harness.publishConsent(patient: person, granted)
            try await harness.publishConsent(patient: person, try Fixtures.bytes(withdrawn))
        case "tombstone":
            try await harness.publishConsent(patient: person, granted)
            try await harness.publishConsent(patient: person, nil)
        default: break
        }
        // An event through the pipeline passes the consent gate: once it is receipted, the view
        // the relay re-checks against has read the consent records.
        _ = try await harness.publishEvent(
            topic: topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: "03919540000",
            body: try Fixtures.referral(patient: "03919540000"))
        _ = try await harness.read(topics.healthReceipts, atLeast: 1)

        // A case discussion decided before any of that reached the bridge (no consent then: it
        // crosses anonymously), recorded behind the running bridge's back as a pipeline would
        // have just before the change arrived: its copy is still to be delivered.
        let catalog = try PolicyCatalog.load(directory: BridgeHarness.contractsDirectory)
        let id = UUID().uuidString.lowercased()
        guard
            let message = try Self.decidedAnonymously(
                try Self.discussion(), type: "no.ips.health.case-discussion.v1", id: id, from: topics.healthOutbound,
                origin: .health, key: person, offset: 999_999, topics: topics, catalog: catalog)
        else {
            await harness.finish()
            return
        }
        let copyRecord = try #require(message.outbox.first { $0.topic == topics.followUpInbound })
        #expect(
            copyRecord.headerText(BridgeHeaders.internalSubject) == person,
            "the stored copy names its person for the relay's re-check")
        let store = try await harness.openBridgeStore()
        _ = try await store.record(BridgeBatch(messages: [message], offsets: []))

        let ours = { (record: KafkaRecord) in
            (try? DisclosureNotice(json: StrictJSON.parse(record.value ?? [])))?.messageID == id
        }
        let notices = try await harness.read(topics.healthDisclosures, atLeast: 1, timeout: .seconds(30)).filter(ours)
        let receipts = try await harness.read(topics.healthReceipts, atLeast: 2, timeout: .seconds(30)).filter {
            $0.key == Array(id.utf8)
        }
        let pending = try await BridgeRelayTests.pendingAfterRelay(store, timeout: .seconds(20))
        let withheld = try await store.withheldDisclosureIDs()
        let stored = try await store.storedOutboxContent()
        await store.close()
        let forwarded = try await harness.read(topics.followUpInbound, atLeast: 0)
        await harness.finish()

        #expect(pending.isEmpty, "every row settled")
        #expect(notices.count == 1 && receipts.count == 1)
        let noticeValue = try StrictJSON.parse(try #require(notices.first?.value))
        #expect(
            try Self.contract(DisclosureNotice.ceType).validate(noticeValue).isEmpty, "the notice breaks its contract")
        let notice = try DisclosureNotice(json: noticeValue)
        #expect(notice.form == .anonymous)
        let receiptValue = try StrictJSON.parse(try #require(receipts.first?.value))
        #expect(try Self.contract(BridgeReceipt.ceType).validate(receiptValue).isEmpty)
        let receipt = try BridgeReceipt(json: receiptValue)
        let copies = forwarded.filter { $0.headers.string(named: "ce_id") == notice.disclosureID }
        if change == "never had consent" {
            // R2: without any consent the anonymous path stays open.
            #expect(copies.count == 1, "an anonymous copy for a person who never had a consent was withheld")
            #expect(notice.status == .disclosed && notice.withheldReason == nil)
            #expect(receipt.outcome == .anonymized && receipt.forwardedID == notice.disclosureID)
            #expect(withheld.isEmpty)
        } else {
            #expect(copies.isEmpty, "an anonymous copy crossed after the person's consent was withdrawn")
            #expect(notice.status == .withheld, "the journal reads as disclosed a copy withheld")
            #expect(notice.withheldReason == "consent-withdrawn")
            #expect(receipt.outcome == .withheld && receipt.reasonCode == "consent-withdrawn")
            #expect(receipt.forwardedID == nil)
            #expect(withheld == [notice.disclosureID])
        }
        // Nothing identifying on the wire: not in the copy, its key, or its headers, which are
        // the published ones only.
        for copy in forwarded {
            #expect(!String(decoding: copy.value ?? [], as: UTF8.self).contains(person))
            #expect(!String(decoding: copy.key ?? [], as: UTF8.self).contains(person))
            #expect(copy.headers.allSatisfy { !String(decoding: $0.value ?? [], as: UTF8.self).contains(person) })
            #expect(
                Set(copy.headers.map(\.name)) == [
                    "ce_id", "ce_type", "ce_source", "ce_time", "ce_specversion", "content-type", "cb_policy_version",
                    "cb_bridge_version",
                ])
        }
        // R2/R9: once settled, the bridge store keeps neither the person nor the case reference
        // on the copy's row (nor on any other).
        let copyRows = stored.filter { $0.headers.contains(notice.disclosureID) }
        #expect(!copyRows.isEmpty)
        for row in stored {
            #expect(!row.headers.contains(person), "a settled row's stored headers still name the person")
            #expect(!String(decoding: row.payload, as: UTF8.self).contains(person))
        }
        for row in copyRows where row.headers.contains("#0=\(notice.disclosureID),") {
            #expect(row.isErased, "the settled anonymous copy's row keeps its content")
        }
        #expect(copyRows.contains { $0.headers.contains("#0=\(notice.disclosureID),") }, "premise: the copy's row")
    }

    @Test(
        "R5/R15: an anonymous copy of what NAV sent, decided before the person's consent was withdrawn, is withheld: the journal receives nothing, NAV gets no notice and the receipt it gets for a refused event (not-delivered), so it learns nothing of the consent"
    )
    func R15_anonymousCopyOfNavsEventDecidedBeforeAWithdrawalTellsNavNothing() async throws {
        let person = Self.unconsented
        let harness = try BridgeHarness()
        try await harness.start()
        let topics = harness.topics
        let granted = try Fixtures.consent(patient: person)
        var withdrawn = try JSONSerialization.jsonObject(with: Data(granted)) as! [String: Any]
        withdrawn["version"] = 2
        withdrawn["status"] = "withdrawn"
        try await harness.publishConsent(patient: person, granted)
        try await harness.publishConsent(patient: person, try Fixtures.bytes(withdrawn))
        let suggestion = try Fixtures.with(
            subject: person, at: ["candidate", "fodselsnummer"],
            in: try #require(try Fixtures.validExamples("candidate-suggestion").first))
        // The same suggestion through the pipeline after the withdrawal: refused when decided
        // (the anonymous path is closed). Once it is receipted the view has read both records.
        let refused = try await harness.publishEvent(
            topic: topics.navOutbound, ceType: "no.ips.nav.candidate-suggestion.v1", key: person, body: suggestion)
        _ = try await harness.read(topics.navReceipts, atLeast: 1)

        // Decided before the withdrawal arrived (no consent then: anonymously), recorded behind
        // the running bridge's back.
        let catalog = try PolicyCatalog.load(directory: BridgeHarness.contractsDirectory)
        let id = UUID().uuidString.lowercased()
        guard
            let message = try Self.decidedAnonymously(
                suggestion, type: "no.ips.nav.candidate-suggestion.v1", id: id, from: topics.navOutbound, origin: .nav,
                key: person, offset: 999_999, topics: topics, catalog: catalog)
        else {
            await harness.finish()
            return
        }
        let store = try await harness.openBridgeStore()
        _ = try await store.record(BridgeBatch(messages: [message], offsets: []))
        let receipts = try await harness.read(topics.navReceipts, atLeast: 2, timeout: .seconds(30))
        let pending = try await BridgeRelayTests.pendingAfterRelay(store, timeout: .seconds(20))
        let withheld = try await store.withheldDisclosureIDs()
        await store.close()
        let notices = try await harness.read(topics.navDisclosures, atLeast: 0)
        let inbound = try await harness.read(topics.healthInbound, atLeast: 0)
        await harness.finish()

        #expect(pending.isEmpty, "every row settled")
        #expect(withheld.count == 1, "the copy was withheld")
        #expect(inbound.isEmpty, "an anonymous copy crossed to the journal after the withdrawal")
        #expect(notices.isEmpty, "NAV was told of a disclosure withheld after its decision")
        let receiptContract = try Self.contract(BridgeReceipt.ceType)
        func receipt(_ id: String) throws -> BridgeReceipt {
            let value = try StrictJSON.parse(try #require(receipts.first { $0.key == Array(id.utf8) }?.value))
            #expect(receiptContract.validate(value).isEmpty)
            return try BridgeReceipt(json: value)
        }
        let ours = try receipt(id)
        let refusedReceipt = try receipt(refused)
        #expect(ours.outcome == refusedReceipt.outcome && ours.reasonCode == refusedReceipt.reasonCode)
        #expect(ours.reasonCode == BridgeReceipt.notDelivered && ours.forwardedID == nil)
    }
}
