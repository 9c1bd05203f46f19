import ConsentBridge
import ConsentConfiguration
import ConsentContracts
import ConsentKafka
import ConsentStorage
import Foundation
import Logging
import SQLKit
import Testing

/// The product as its users meet it: the bridge and both sinks on the embedded broker, fed
/// every valid example of every contract under full, partial, no and withdrawn consent; what
/// the other side receives is read back from the topics and the stores and held against the
/// published contracts (never against the bridge's own encoders). Python's jsonschema checks
/// the same from outside (Tests/python/test_end_to_end.py).
@Suite("The whole product (bridge and sinks, embedded broker, SQLite)", .serialized, .timeLimit(.minutes(8)))
struct WholeProductTests {
    /// The consent states each example is sent under, and the person in that state.
    static let states: [(name: String, patient: String)] = [
        ("full", "12848740088"), ("partial", "03919540000"), ("none", "28827240070"), ("withdrawn", "15860250028"),
    ]

    /// Topics the bridge writes.
    static let outputTopics = [
        "nav.ips.inbound", "health.ips.inbound", "health.ips.receipts", "nav.ips.receipts", "health.disclosures",
        "nav.disclosures", "nav.followup.inbound", "nav.followup.receipts", "nav.followup.disclosures",
        "bridge.rejected",
    ]

    /// Every role running: the bridge, the journal's sink and both NAV systems' sinks (R9).
    static let allRoles = "bridge,health-sink,nav-sink,followup-sink"

    @Test("R4/R6: every record on every topic satisfies its published contract, and the journal holds every disclosure")
    func R4_everyOutputHonoursItsContractAndEveryDisclosureIsJournalled() async throws {
        let harness = try BridgeHarness(roles: Self.allRoles)
        try await harness.start()
        let catalog = try ContractCatalog.load(directory: BridgeHarness.contractsDirectory)

        for (state, patient) in Self.states {
            switch state {
            case "full": try await harness.publishConsent(patient: patient, try Fixtures.consent(patient: patient))
            case "partial":
                try await harness.publishConsent(
                    patient: patient,
                    try Fixtures.consent(patient: patient, categories: ["identity-and-contact", "ips-participation"]))
            case "withdrawn":
                try await harness.publishConsent(patient: patient, try Fixtures.consent(patient: patient))
                try await harness.publishConsent(
                    patient: patient, try Fixtures.consent(patient: patient, status: "withdrawn", version: 2))
            default: break
            }
        }
        var sent: [String: (topic: String, state: String)] = [:]
        for contract in catalog.contracts where contract.direction == .healthToNav || contract.direction == .navToHealth
        {
            for example in try Fixtures.validExamples(contract.name) {
                for (state, patient) in Self.states {
                    let body = try Fixtures.with(subject: patient, at: contract.subjectPath, in: example)
                    let id = try await harness.publishEvent(
                        topic: contract.sourceTopic, ceType: contract.ceType, key: patient, body: body)
                    sent[id] = (contract.sourceTopic, state)
                }
            }
        }
        // Each system reads the receipts for its own events.
        for (source, receipts) in [
            ("health.ips.outbound", "health.ips.receipts"), ("nav.ips.outbound", "nav.ips.receipts"),
            ("nav.followup.outbound", "nav.followup.receipts"),
        ] {
            let count = sent.values.filter { $0.topic == source }.count
            #expect(count > 0, "no example sent from \(source)")
            _ = try await harness.read(receipts, atLeast: count, timeout: .seconds(60))
        }

        // Everything recorded is published (the relay's backlog is empty) before the topics are read.
        let bridgeStore = try await harness.openBridgeStore()
        try await Self.poll("the relay publishes every recorded row") {
            try await Self.count(
                bridgeStore.database, "SELECT COUNT(*) AS n FROM outbox_status WHERE status = 'pending'") == 0
        }
        var records: [String: [KafkaRecord]] = [:]
        for topic in Self.outputTopics { records[topic] = try await harness.read(topic, atLeast: 0) }

        // 1. Every record against the contract its ce_type names, and its envelope.
        var failures: [String] = []
        for (topic, list) in records {
            for record in list {
                let headers = CloudEventHeaders(
                    kafkaHeaders: record.headers.map { (name: $0.name, value: $0.value ?? []) })
                if let problem = headers.problem { failures.append("\(topic): envelope \(problem)") }
                guard let type = headers.type, let contract = catalog.contract(forCEType: type) else {
                    failures.append("\(topic): no contract for its ce_type")
                    continue
                }
                guard let body = try? StrictJSON.parse(record.value ?? []) else {
                    failures.append("\(topic) \(type): not strict JSON")
                    continue
                }
                for violation in contract.schema.validate(body) {
                    failures.append("\(topic) \(type): \(violation.pointer) \(violation.keyword)")
                }
            }
        }
        #expect(
            failures.isEmpty, "\(failures.count) records break their contract: \(Set(failures).sorted().prefix(20))")
        #expect(records["nav.ips.inbound"]?.isEmpty == false)
        #expect(records["nav.followup.inbound"]?.isEmpty == false)
        #expect(records["health.ips.inbound"]?.isEmpty == false)
        #expect(records["bridge.rejected"]?.isEmpty == false)

        // 2. The journal (health→NAV) and each NAV system's store (what that system sent to
        //    health) hold every disclosure the bridge recorded for them, from what it published.
        let disclosures = try await bridgeStore.database.read { sql in
            try await sql.raw(
                """
                SELECT d.disclosure_id, d.direction, m.source_topic FROM (
                    SELECT disclosure_id, direction, event_id FROM disclosures
                    UNION ALL SELECT disclosure_id, direction, message_id AS event_id FROM anonymous_disclosures) d
                JOIN decisions m ON m.message_id = d.event_id
                """
            ).all().map {
                (
                    try $0.decode(column: "disclosure_id", as: String.self),
                    try $0.decode(column: "direction", as: String.self),
                    try $0.decode(column: "source_topic", as: String.self)
                )
            }
        }
        await bridgeStore.close()
        let journal = try await HealthJournalStore.open(
            .sqlite(path: harness.directory + "/health.sqlite"), logger: Logger(label: "inspect"))
        let navStore = try await NavSystemStore.open(
            .sqlite(path: harness.directory + "/nav.sqlite"), logger: Logger(label: "inspect"))
        let followUpStore = try await NavSystemStore.open(
            .sqlite(path: harness.directory + "/followup.sqlite"), policy: .followUpStandard,
            logger: Logger(label: "inspect"))
        let healthToNav = Set(disclosures.filter { $0.1 == "health-to-nav" }.map(\.0))
        let fromCaseSystem = Set(disclosures.filter { $0.2 == "nav.ips.outbound" }.map(\.0))
        let fromFollowUp = Set(disclosures.filter { $0.2 == "nav.followup.outbound" }.map(\.0))
        #expect(!healthToNav.isEmpty && !fromCaseSystem.isEmpty && !fromFollowUp.isEmpty)
        try await Self.poll("the sinks store every disclosure notice") {
            let inJournal = try await Self.ids(journal.database)
            let inNavStore = try await Self.ids(navStore.database)
            let inFollowUpStore = try await Self.ids(followUpStore.database)
            return inJournal == healthToNav && inNavStore == fromCaseSystem && inFollowUpStore == fromFollowUp
        }
        #expect(try await Self.ids(journal.database) == healthToNav)
        #expect(try await Self.ids(navStore.database) == fromCaseSystem)
        #expect(try await Self.ids(followUpStore.database) == fromFollowUp)
        for (name, store) in [
            ("the journal", journal as any SinkStore), ("NAV's case store", navStore),
            ("the follow-up store", followUpStore),
        ] {
            #expect(try await store.sinkRejections().isEmpty, "\(name) refused what the bridge published")
            #expect(try await store.quarantined().isEmpty, "\(name) took a bridge output for a breach")
        }
        await followUpStore.close()

        // 3. The person's disclosure report lists the consented referral that went through.
        let full = Self.states[0].patient
        guard case .disclosures(let listed) = try await DisclosureReport.lookup(patientID: full, in: journal) else {
            Issue.record("no disclosures reported for the consented patient")
            return
        }
        #expect(
            listed.contains {
                $0.ceType == "no.ips.health.referral.v1" && $0.form == "identified" && $0.status == "disclosed"
            })
        await journal.close()
        await navStore.close()
        await harness.finish()
    }

    @Test(
        "R10: each kind of breach at either sink is quarantined there and reaches both parties as a notice that honours its contract"
    )
    func R10_everyBreachKindReachesBothParties() async throws {
        let harness = try BridgeHarness(roles: Self.allRoles)
        try await harness.start()
        let catalog = try ContractCatalog.load(directory: BridgeHarness.contractsDirectory)
        let patient = Self.states[0].patient
        let jobStatus = try Fixtures.with(
            subject: patient, at: ["participant", "fodselsnummer"],
            in: try Fixtures.validExamples("job-status-update")[0])
        let referral = try Fixtures.with(
            subject: patient, at: ["patient", "fodselsnummer"], in: try Fixtures.validExamples("referral")[0])
        func adding(_ member: String, _ value: String, to body: [UInt8]) throws -> [UInt8] {
            var object = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
            object[member] = value
            return Array(try JSONSerialization.data(withJSONObject: object))
        }
        // What a faulty or compromised writer could put on the inbound topics (only the bridge
        // may write them): each kind the sinks must catch.
        let provoked: [(topic: String, ceType: String, body: [UInt8], reason: String, sink: String)] = [
            (
                "health.ips.inbound", "no.ips.nav.follow-up-note.v1", Array("{\"note\":\"om \(patient)\"}".utf8),
                "nav-internal-documentation", "health-journal-sink"
            ),
            (
                "health.ips.inbound", "no.ips.nav.job-status.v1",
                try adding("diagnosis", "F32 \(patient)", to: jobStatus), "contract-violation", "health-journal-sink"
            ),
            (
                "health.ips.inbound", "no.ips.health.referral.v1", referral, "unaccepted-event-type",
                "health-journal-sink"
            ),
            // Valid against its contract, but with the job specialist's own assessment, which the
            // bridge removes (R3): NAV's documentation in the journal.
            (
                "health.ips.inbound", "no.ips.nav.job-status.v1",
                try adding("followUpAssessment", "Vurdering av \(patient)", to: jobStatus),
                "nav-internal-documentation", "health-journal-sink"
            ),
            (
                "nav.ips.inbound", "no.ips.health.referral.v1", try adding("diagnosis", "F20", to: referral),
                "contract-violation", "nav-case-sink"
            ),
            ("nav.ips.inbound", "no.ips.nav.follow-up-note.v1", jobStatus, "unaccepted-event-type", "nav-case-sink"),
            // The second NAV-side system's sink, the IPS follow-up solution's.
            (
                "nav.followup.inbound", "no.ips.health.referral.v1", try adding("diagnosis", "F20", to: referral),
                "contract-violation", "nav-followup-sink"
            ),
            (
                "nav.followup.inbound", "no.ips.nav.follow-up-note.v1", jobStatus, "unaccepted-event-type",
                "nav-followup-sink"
            ),
        ]
        for breach in provoked {
            try await harness.publishEvent(topic: breach.topic, ceType: breach.ceType, key: patient, body: breach.body)
        }

        // Both parties' breach topics carry every notice, each valid against the published contract.
        let contract = try #require(catalog.contract(forCEType: BreachNotice.ceType))
        var noticesByTopic: [String: [String]] = [:]
        for topic in ["health.breaches", "nav.breaches"] {
            let records = try await harness.read(topic, atLeast: provoked.count, timeout: .seconds(60))
            #expect(records.count == provoked.count, "\(topic): every breach once")
            for record in records {
                let headers = CloudEventHeaders(
                    kafkaHeaders: record.headers.map { (name: $0.name, value: $0.value ?? []) })
                #expect(headers.problem == nil && headers.type == BreachNotice.ceType)
                let body = try StrictJSON.parse(record.value ?? [])
                #expect(contract.schema.validate(body).isEmpty, "\(topic): a notice breaks breach-notice.schema.json")
                #expect(
                    !String(decoding: record.value ?? [], as: UTF8.self).contains(patient),
                    "a notice carries the person")
                #expect(!String(decoding: record.key ?? [], as: UTF8.self).contains(patient))
                let notice = try BreachNotice(json: body)
                #expect(headers.id == notice.breachID)
                noticesByTopic[topic, default: []].append("\(notice.detectedBy.rawValue) \(notice.reason)")
            }
        }
        let expected = provoked.map { "\($0.sink) \($0.reason)" }.sorted()
        #expect(noticesByTopic["health.breaches"]?.sorted() == expected)
        #expect(noticesByTopic["nav.breaches"]?.sorted() == expected)

        // Each side files every notice; the records sit sealed in the detecting sink's quarantine
        // and in neither side's documentation tables.
        let journal = try await HealthJournalStore.open(
            .sqlite(path: harness.directory + "/health.sqlite"), logger: Logger(label: "inspect"))
        let navStore = try await NavSystemStore.open(
            .sqlite(path: harness.directory + "/nav.sqlite"), logger: Logger(label: "inspect"))
        try await Self.poll("both sides file every breach notice") {
            let filedByHealth = try await journal.breachLog().count
            let filedByNav = try await navStore.breachLog().count
            return filedByHealth == provoked.count && filedByNav == provoked.count
        }
        #expect(try await journal.quarantined().count == 4)
        #expect(try await navStore.quarantined().count == 2)
        let followUpStore = try await NavSystemStore.open(
            .sqlite(path: harness.directory + "/followup.sqlite"), policy: .followUpStandard,
            logger: Logger(label: "inspect"))
        #expect(try await followUpStore.quarantined().count == 2)
        await followUpStore.close()
        #expect(try await journal.eventsAwaitingClinician().isEmpty)
        #expect(try await navStore.eventsFromHealth().isEmpty)
        #expect(try await navStore.participants().isEmpty)
        // Operators count them (bounded labels: sink, reason, rule).
        let metrics = try #require(harness.metrics).prometheusText()
        #expect(
            metrics.contains(
                #"consent_bridge_breaches_detected_total{sink="health-journal",reason="nav-internal-documentation",rule="R3"} 2"#
            ))
        #expect(metrics.contains(#"consent_bridge_breach_notices_received_total{store="nav-case"} "#))
        #expect(!metrics.contains(patient))
        #expect(!harness.logs.all.joined().contains(patient), "the person reached the logs")
        await journal.close()
        await navStore.close()
        await harness.finish()
    }

    @Test(
        "R4: oversized inputs are refused unopened and delay nothing; a copy too large to send is withheld and reported so; a record the client refuses is settled as failed, not retried forever"
    )
    func oversizedInputsAndRefusedRecordsNeverBlockTheRest() async throws {
        let harness = try BridgeHarness()
        // Every client of the bridge refuses records above 2,000 bytes. A consented referral
        // with a long motivation is decided, but its copy is too large to send: it is withheld
        // before its notice goes out. An unconsented one is rejected, and its rejection notice
        // (with the sealed body) is refused by the producer: settled as failed.
        try await harness.start(clientProperties: ["message.max.bytes": "2000"])
        let patient = Self.states[0].patient
        let stranger = Self.states[2].patient
        // For the job specialist only: one copy per referral, to the follow-up solution.
        try await harness.publishConsent(
            patient: patient, try Fixtures.consent(patient: patient, roles: ["ips-job-specialist"]))

        var big = try Fixtures.json("referral/valid/not-sick-listed-minimal.json")
        big["padding"] = String(repeating: "x", count: 900_000)
        let tooLarge = try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: patient,
            body: try Fixtures.bytes(big))
        let motivation = String(repeating: "Trenger tilrettelegging. ", count: 76)
        let withheld = try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: patient,
            body: try Fixtures.referral(patient: patient, motivation: motivation))
        let refusedNotice = try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: stranger,
            body: try Fixtures.referral(patient: stranger, motivation: motivation))
        var after: [String] = []
        for _ in 0..<50 {
            after.append(
                try await harness.publishEvent(
                    topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: patient,
                    body: try Fixtures.referral(patient: patient)))
        }

        let receipts = try await harness.read(harness.topics.healthReceipts, atLeast: 53, timeout: .seconds(60))
        let forwarded = try await harness.read(harness.topics.followUpInbound, atLeast: 50, timeout: .seconds(60))
        let notices = try await harness.read(harness.topics.healthDisclosures, atLeast: 51)
        let rejected = try await harness.read(harness.topics.rejected, atLeast: 1)
        let metrics = harness.metrics?.prometheusText() ?? ""
        await harness.stop()
        let store = try await harness.openBridgeStore()
        let failed = try await store.failedOutboxCount()
        let pending = try await store.pendingOutboxCount()
        await store.close()
        await harness.finish()

        func body(_ record: KafkaRecord) throws -> [String: Any] {
            try #require(JSONSerialization.jsonObject(with: Data(record.value ?? [])) as? [String: Any])
        }
        let receiptOf = { (id: String) in try receipts.first { $0.key == Array(id.utf8) }.map { try body($0) } }
        #expect(try receiptOf(tooLarge)?["reasonCode"] as? String == "too-large")
        let notice = try #require(try rejected.first { try body($0)["reasonCode"] as? String == "too-large" })
        #expect(try body(notice)["sealedPayload"] == nil, "a too-large body is never sealed into a notice")
        #expect((notice.value?.count ?? 0) < 2000)

        // R4: the journal is told the truth about the copy that could not be sent.
        #expect(try receiptOf(withheld)?["outcome"] as? String == "withheld")
        #expect(try receiptOf(withheld)?["reasonCode"] as? String == "too-large-for-broker")
        let withheldNotices = try notices.map(body).filter { $0["status"] as? String == "withheld" }
        #expect(
            withheldNotices.count == 1 && withheldNotices.first?["withheldReason"] as? String == "too-large-for-broker")

        // The refused rejection notice is settled as failed, counted, and nothing waits on it.
        #expect(try receiptOf(refusedNotice)?["outcome"] as? String == "rejected")
        #expect(try rejected.allSatisfy { try body($0)["messageId"] as? String != refusedNotice })
        #expect(failed == 1, "the record the producer refused is settled as failed")
        #expect(metrics.contains("consent_bridge_outbox_refused_total 1"))
        #expect(pending == 0)

        // Every event behind them crossed.
        let copies = Set(try after.compactMap { try receiptOf($0)?["forwardedId"] as? String })
        #expect(copies.count == after.count)
        #expect(copies.isSubset(of: Set(forwarded.compactMap { $0.headers.string(named: "ce_id") })))
    }

    @Test(
        "R9/R13: for each role combination of a consent, every forwarded event lands exactly in the stores of the roles it covers"
    )
    func R9_everyForwardedEventLandsInTheStoresOfTheRolesItCovers() async throws {
        let harness = try BridgeHarness(roles: Self.allRoles)
        try await harness.start()
        let catalog = try ContractCatalog.load(directory: BridgeHarness.contractsDirectory)
        // One person per combination of NAV roles a consent names (full categories otherwise).
        let people: [(roles: [String], patient: String)] = [
            (["ips-job-specialist"], "12848740088"), (["nav-veileder"], "03919540000"),
            (["ips-job-specialist", "nav-veileder"], "28827240070"),
        ]
        for (roles, patient) in people {
            try await harness.publishConsent(
                patient: patient, try Fixtures.consent(patient: patient, roles: roles))
        }
        // Every health→NAV example about each person, and the NAV systems' events.
        var expected: [String: [String: Set<String>]] = [:]  // store → patient → ce_types
        var sent = 0
        var copies = 0
        for contract in catalog.contracts where contract.direction == .healthToNav {
            for example in try Fixtures.validExamples(contract.name) {
                for (roles, patient) in people {
                    let body = try Fixtures.with(subject: patient, at: contract.subjectPath, in: example)
                    _ = try await harness.publishEvent(
                        topic: contract.sourceTopic, ceType: contract.ceType, key: patient, body: body)
                    sent += 1
                    for destination in contract.destinations where roles.contains(destination.role) {
                        let store = destination.topic == "nav.followup.inbound" ? "followup" : "nav"
                        expected[store, default: [:]][patient, default: []].insert(contract.ceType)
                        copies += 1
                    }
                }
            }
        }
        // Job status from the follow-up solution crosses; the same event from NAV's case system is
        // refused (one system cannot speak for the other).
        let jobStatus = try #require(catalog.contract(named: "job-status-update"))
        let jobBody = try Fixtures.with(
            subject: people[2].patient, at: jobStatus.subjectPath, in: try Fixtures.validExamples(jobStatus.name)[0])
        let fromFollowUp = try await harness.publishEvent(
            topic: "nav.followup.outbound", ceType: jobStatus.ceType, key: people[2].patient, body: jobBody)
        let fromCaseSystem = try await harness.publishEvent(
            topic: "nav.ips.outbound", ceType: jobStatus.ceType, key: people[2].patient, body: jobBody)
        _ = try await harness.read("health.ips.receipts", atLeast: sent, timeout: .seconds(60))
        let followUpReceipts = try await harness.read("nav.followup.receipts", atLeast: 1, timeout: .seconds(60))
        let caseReceipts = try await harness.read("nav.ips.receipts", atLeast: 1, timeout: .seconds(60))
        func outcome(_ records: [KafkaRecord], _ id: String) throws -> String? {
            guard let value = records.first(where: { $0.key == Array(id.utf8) })?.value else { return nil }
            return try BridgeReceipt(json: StrictJSON.parse(value)).outcome.rawValue
        }
        #expect(try outcome(followUpReceipts, fromFollowUp) == "accepted")
        #expect(try outcome(caseReceipts, fromCaseSystem) == "rejected")
        #expect(try outcome(caseReceipts, fromFollowUp) == nil, "the case system read the follow-up solution's receipt")

        let bridgeStore = try await harness.openBridgeStore()
        try await Self.poll("the relay publishes every recorded row") {
            try await Self.count(
                bridgeStore.database, "SELECT COUNT(*) AS n FROM outbox_status WHERE status = 'pending'") == 0
        }
        await bridgeStore.close()
        let stores: [String: NavSystemStore] = [
            "nav": try await NavSystemStore.open(
                .sqlite(path: harness.directory + "/nav.sqlite"), logger: Logger(label: "inspect")),
            "followup": try await NavSystemStore.open(
                .sqlite(path: harness.directory + "/followup.sqlite"), policy: .followUpStandard,
                logger: Logger(label: "inspect")),
        ]
        // By person; anonymous forms (keyed by a case reference, not a person) apart.
        func received(_ store: NavSystemStore) async throws -> [String: Set<String>] {
            var byPerson: [String: Set<String>] = [:]
            for event in try await store.eventsFromHealth(limit: 10_000)
            where !(event.subjectKey ?? "").hasPrefix("case-") {
                byPerson[event.subjectKey ?? "", default: []].insert(event.ceType)
            }
            return byPerson
        }
        func anonymousTypes(_ store: NavSystemStore) async throws -> Set<String> {
            Set(
                try await store.eventsFromHealth(limit: 10_000).filter { ($0.subjectKey ?? "").hasPrefix("case-") }.map(
                    \.ceType))
        }
        try await Self.poll("each NAV system's store holds what crossed to its role") {
            let caseSystem = try await received(stores["nav"]!)
            let followUp = try await received(stores["followup"]!)
            return caseSystem == expected["nav"] ?? [:] && followUp == expected["followup"] ?? [:]
        }
        for (name, store) in stores {
            let got = try await received(store)
            #expect(got == expected[name] ?? [:], "\(name) store: \(got) expected \(expected[name] ?? [:])")
            #expect(try await store.quarantined().isEmpty, "\(name) store quarantined a bridge output")
        }
        // A consent naming only the veileder does not cover the job specialist's case discussion:
        // it crosses to the job specialist only in anonymous form (R2), never to the case system.
        #expect(try await anonymousTypes(stores["followup"]!) == ["no.ips.health.case-discussion.anonymous.v1"])
        #expect(try await anonymousTypes(stores["nav"]!).isEmpty)
        // The veileder's case system never holds the job specialist's health information, and the
        // job specialist's store never holds the veileder's case data (its own documentation).
        let caseTypes = try await received(stores["nav"]!).values.reduce(into: Set<String>()) { $0.formUnion($1) }
        #expect(
            caseTypes.isDisjoint(with: [
                "no.ips.health.work-relevant-health.v1", "no.ips.health.treatment-coordination.v1",
            ]))
        let caseRows = try await Self.count(
            stores["nav"]!.database, "SELECT COUNT(*) AS n FROM events_from_health WHERE payload LIKE '%\"reason\"%'")
        #expect(caseRows == 0, "a treatment reason reached the veileder's case system")
        // Its own documentation is what the follow-up solution itself published (the job status).
        let followUpOwn = try await Self.count(
            stores["followup"]!.database,
            "SELECT COUNT(*) AS n FROM follow_up_documentation WHERE ce_type <> 'no.ips.nav.job-status.v1'")
        #expect(followUpOwn == 0, "the follow-up store took the case system's documentation")
        let caseOwn = try await Self.count(
            stores["nav"]!.database, "SELECT COUNT(*) AS n FROM follow_up_documentation")
        #expect(caseOwn == 0, "the case system filed job status sent in the follow-up solution's name")
        // The journal's disclosure log names the role (and so the system) of every copy.
        let journal = try await HealthJournalStore.open(
            .sqlite(path: harness.directory + "/health.sqlite"), logger: Logger(label: "inspect"))
        try await Self.poll("the journal files every copy's disclosure") {
            try await Self.count(
                journal.database,
                "SELECT COUNT(*) AS n FROM disclosure_log WHERE direction = 'health-to-nav' AND form = 'identified'")
                == copies
        }
        let roles = try await journal.database.read { sql in
            try await sql.raw(
                "SELECT subject_id, recipient_role FROM disclosure_log WHERE direction = 'health-to-nav' AND form = 'identified'"
            ).all().map {
                (
                    try $0.decode(column: "subject_id", as: String.self),
                    try $0.decode(column: "recipient_role", as: String.self)
                )
            }
        }
        for (subject, role) in roles {
            let named = people.first { $0.patient == subject }?.roles ?? []
            #expect(named.contains(role), "a copy for \(role) under a consent naming \(named)")
        }
        await journal.close()
        for store in stores.values { await store.close() }
        await harness.finish()
    }

    // MARK: Helpers

    static func poll(_ what: String, timeout: Duration = .seconds(60), _ condition: () async throws -> Bool)
        async throws
    {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("timed out waiting until \(what)")
    }

    static func count(_ database: StoreDatabase, _ query: String) async throws -> Int {
        try await database.read { sql in
            Int(try await sql.raw(SQLQueryString(query)).first()?.decode(column: "n", as: Int64.self) ?? 0)
        }
    }

    static func ids(_ database: StoreDatabase) async throws -> Set<String> {
        try await database.read { sql in
            Set(
                try await sql.raw("SELECT disclosure_id FROM disclosure_log").all().map {
                    try $0.decode(column: "disclosure_id", as: String.self)
                })
        }
    }
}
