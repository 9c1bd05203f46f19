import ConsentBridgeTesting
import ConsentContracts
import ConsentStorage
import Foundation
import SQLKit
import Testing

/// R10: a sink that receives, on its side's inbound topic, what its side must never hold
/// quarantines it sealed, out of the side's documentation tables, and queues a content-free
/// breach notice for both parties; each side files the notices it receives.
@Suite("Breach quarantine and notices (R10)")
struct BreachQuarantineTests {
    static let health = HealthSinkPolicy(catalog: Fixtures.catalog)
    static let nav = NavSinkPolicy(catalog: Fixtures.catalog)
    static let noticeSchema = Fixtures.catalog.contract(forCEType: BreachNotice.ceType)!.schema

    /// A valid example of a contract, as bytes.
    static func example(_ contract: String, _ file: String) throws -> [UInt8] {
        Array(
            try Data(
                contentsOf: URL(fileURLWithPath: "\(Fixtures.contractsDirectory)/examples/\(contract)/valid/\(file)")))
    }

    /// A job status as the bridge forwards it to the journal: the example without NAV's own
    /// assessment (`followUpAssessment`, nav-internal: R3).
    static func forwardedJobStatus() throws -> [UInt8] {
        let body = try example("job-status-update", "job-started.json")
        guard case .object(var object) = try StrictJSON.parse(body) else { throw CancellationError() }
        object["followUpAssessment"] = nil
        return JSONValue.object(object).serializedBytes()
    }

    /// `body` with one more member (content the contract does not let cross).
    static func withExtraMember(_ body: [UInt8], _ name: String, _ value: String) throws -> [UInt8] {
        guard case .object(var object) = try StrictJSON.parse(body) else { throw CancellationError() }
        object = JSONObject(uniqueMembers: object.members + [.init(key: name, value: .string(value))])
        return JSONValue.object(object).serializedBytes()
    }

    static func record(_ topic: String, _ offset: Int64, ceID: String?, ceType: String?, value: [UInt8]?) -> SinkRecord
    {
        var headers: [MessageHeader] = []
        if let ceID { headers.append(MessageHeader(name: "ce_id", text: ceID)) }
        if let ceType { headers.append(MessageHeader(name: "ce_type", text: ceType)) }
        return SinkRecord(
            topic: topic, partition: 0, offset: offset, key: Array(knownFodselsnummer.utf8), value: value,
            headers: headers)
    }

    @Test(
        "R10: each kind of breach at the journal is quarantined sealed, kept out of its tables, and notified to both parties",
        arguments: TestEngine.available)
    func R10_eachBreachKindAtTheJournal(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await HealthJournalStore.open(
                try await scratch.make("health"), policy: Self.health, breaches: Fixtures.breaches(.healthJournalSink),
                logger: ScratchLocations.logger)
            let jobStatus = try Self.forwardedJobStatus()
            let inbound = Self.health.inboundTopic
            let noteID = "0d6f3c52-7a1e-4d4c-8b2f-9e0a1c2d3e4f"
            let records = [
                Self.record(inbound, 0, ceID: "ok-1", ceType: "no.ips.nav.job-status.v1", value: jobStatus),
                Self.record(
                    inbound, 1, ceID: noteID, ceType: "no.ips.nav.follow-up-note.v1",
                    value: Array("{\"note\":\"om \(knownFodselsnummer)\"}".utf8)),
                Self.record(
                    inbound, 2, ceID: "x-2", ceType: "no.ips.health.referral.v1",
                    value: try Self.example("referral", "not-sick-listed-minimal.json")),
                Self.record(inbound, 3, ceID: "x-3", ceType: "sykmelding for \(knownFodselsnummer)", value: jobStatus),
                Self.record(
                    inbound, 4, ceID: "x-4", ceType: "no.ips.nav.job-status.v1",
                    value: try Self.withExtraMember(jobStatus, "diagnosis", "F32 hos \(knownFodselsnummer)")),
                Self.record(
                    inbound, 5, ceID: "x-5", ceType: "no.ips.nav.job-status.v1", value: Array("{\"a\":1,\"a\":2}".utf8)),
                Self.record(inbound, 6, ceID: nil, ceType: "no.ips.nav.job-status.v1", value: jobStatus),
                Self.record(inbound, 7, ceID: "x-7", ceType: "no.ips.nav.job-status.v1", value: nil),
            ]
            let result = try await store.apply(SinkBatch(consumerGroup: "health-sink", records: records))
            #expect(result.stored == 1)
            #expect(try await store.eventsAwaitingClinician().map(\.ceID) == ["ok-1"])
            #expect(
                result.breaches.map(\.reason) == [
                    "nav-internal-documentation", "unaccepted-event-type", "unaccepted-event-type",
                    "contract-violation",
                    "contract-violation", "missing-cloudevent-headers", "unexpected-tombstone",
                ])
            #expect(result.breaches.map(\.rule) == ["R3", "R8", "R8", "R8", "R8", "R8", "R8"])
            // The notice repeats a UUID id and a published type, never a sender's other strings.
            #expect(result.breaches[0].messageID == noteID && result.breaches[1].messageID == nil)
            #expect(result.breaches[1].messageType == "no.ips.health.referral.v1")
            #expect(result.breaches[2].messageType.hasPrefix("unknown-") && result.breaches[2].messageType.count == 16)
            #expect(result.breaches[6].messageType == "no.ips.nav.job-status.v1")

            // One notice per breach for each party's topic, each valid against the published contract.
            let pending = try await store.pendingBreachNotices(limit: 100)
            #expect(pending.count == 14)
            for topic in Fixtures.breachTopics {
                #expect(
                    Set(pending.filter { $0.topic == topic }.map(\.breachID)) == Set(result.breaches.map(\.breachID)))
            }
            for notice in pending {
                let json = try StrictJSON.parse(notice.payload)
                #expect(Self.noticeSchema.isValid(json), "a notice breaks breach-notice.schema.json")
                #expect(!String(decoding: notice.payload, as: UTF8.self).contains(knownFodselsnummer))
            }

            // Quarantined sealed: the rows never hold the content in the clear; the side's key
            // opens the whole record for investigation.
            let quarantined = try await store.quarantined()
            #expect(quarantined.count == 7)
            for entry in quarantined {
                #expect(!String(decoding: entry.sealedRecord, as: UTF8.self).contains(knownFodselsnummer))
                #expect(entry.sealingKeyID == Fixtures.quarantineKey.keyID)
            }
            let opened = try Fixtures.quarantineKey.open(
                quarantined[0].sealedRecord, associatedData: quarantined[0].breachID)
            let envelope = try StrictJSON.parse(opened)
            guard case .object(let object) = envelope, case .string(let key)? = object["key"] else {
                Issue.record("the sealed record is not the envelope")
                return
            }
            #expect(Data(base64Encoded: key) == Data(knownFodselsnummer.utf8))
            #expect(throws: (any Error).self) {
                try Fixtures.quarantineKey.open(quarantined[0].sealedRecord, associatedData: quarantined[1].breachID)
            }

            // A replay (consumer re-delivery, the same positions) quarantines and notifies nothing new.
            let replay = try await store.apply(SinkBatch(consumerGroup: "other-group", records: records))
            #expect(replay.breaches.isEmpty)
            #expect(try await store.quarantined().count == 7)
            #expect(try await store.pendingBreachNotices(limit: 100).count == 14)
            // Published notices are marked and not offered again.
            try await store.markBreachNoticesPublished(Array(pending.prefix(4)))
            #expect(try await store.pendingBreachNotices(limit: 100).count == 10)
            // The quarantine is evidence: append-only.
            await #expect(throws: StorageError.self) {
                try await store.database.transaction { sql in try await sql.raw("DELETE FROM quarantine").run() }
            }
            await store.close()
        }
    }

    @Test(
        "R10: at NAV, a record breaking its contract is a breach; NAV's own malformed documentation is refused locally",
        arguments: TestEngine.available)
    func R10_breachesAtNav(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await NavSystemStore.open(
                try await scratch.make("nav"), policy: Self.nav, breaches: Fixtures.breaches(.navCaseSink),
                logger: ScratchLocations.logger)
            let referral = try Self.example("referral", "not-sick-listed-minimal.json")
            let records = [
                Self.record(
                    Self.nav.inboundTopic, 0, ceID: "r-1", ceType: "no.ips.health.referral.v1", value: referral),
                Self.record(
                    Self.nav.inboundTopic, 1, ceID: "r-2", ceType: "no.ips.health.referral.v1",
                    value: try Self.withExtraMember(referral, "diagnosis", "F20 schizofreni")),
                Self.record(Self.nav.inboundTopic, 2, ceID: "r-3", ceType: "no.ips.nav.job-status.v1", value: referral),
                Self.record(
                    Self.nav.ownOutboundTopic, 0, ceID: "own-1", ceType: "no.ips.nav.unknown.v1", value: referral),
            ]
            let result = try await store.apply(SinkBatch(consumerGroup: "nav-sink", records: records))
            #expect(result.stored == 1)
            #expect(try await store.eventsFromHealth().map(\.ceID) == ["r-1"])
            #expect(result.breaches.map(\.reason) == ["contract-violation", "unaccepted-event-type"])
            #expect(
                result.breaches.allSatisfy { $0.detectedBy == .navCaseSink && $0.source.topic == Self.nav.inboundTopic }
            )
            #expect(result.rejections.count == 3, "the own-topic refusal is local")
            #expect(try await store.quarantined().count == 2)
            // The participant registered by the valid referral only (flow 4).
            #expect(try await store.participants() == [knownFodselsnummer])
            await store.close()
        }
    }

    @Test(
        "R13/R10: a copy at the veileder's case system holding health information (a participation change's treatment reason) is a breach there; the job specialist's follow-up solution stores the same copy",
        arguments: TestEngine.available)
    func R13_healthInformationAtTheCaseSystemIsABreach(engine: TestEngine) async throws {
        let withReason = try Self.example("health-participation-change", "paused-admission.json")
        guard case .object(var object) = try StrictJSON.parse(withReason), object["reason"] != nil else {
            Issue.record("the example has no treatment reason to test with")
            return
        }
        object["reason"] = nil
        let withoutReason = JSONValue.object(object).serializedBytes()
        let type = "no.ips.health.participation-change.v1"
        let copyID = "3c9e1f70-2b4d-4e8a-9f61-5a7d0c2b8e14"
        let followUpPolicy = NavSinkPolicy(catalog: Fixtures.catalog, system: ContractVocabulary.followUpSolution)
        try await withScratch(engine) { scratch in
            let caseStore = try await NavSystemStore.open(
                try await scratch.make("nav"), policy: Self.nav, breaches: Fixtures.breaches(.navCaseSink),
                logger: ScratchLocations.logger)
            let atCase = try await caseStore.apply(
                SinkBatch(
                    consumerGroup: "nav-sink",
                    records: [
                        Self.record(Self.nav.inboundTopic, 0, ceID: copyID, ceType: type, value: withReason),
                        Self.record(Self.nav.inboundTopic, 1, ceID: "p-2", ceType: type, value: withoutReason),
                    ]))
            #expect(try await caseStore.eventsFromHealth().map(\.ceID) == ["p-2"])
            #expect(atCase.breaches.map(\.reason) == ["not-for-recipient-role"])
            #expect(atCase.breaches.map(\.rule) == ["R13"])
            #expect(atCase.breaches.first?.messageID == copyID && atCase.breaches.first?.messageType == type)
            #expect(try await caseStore.quarantined().count == 1)
            let pending = try await caseStore.pendingBreachNotices(limit: 10)
            #expect(pending.count == Fixtures.breachTopics.count)
            for notice in pending {
                #expect(
                    Self.noticeSchema.isValid(try StrictJSON.parse(notice.payload)), "breaks breach-notice.schema.json")
            }
            await caseStore.close()

            let followUpStore = try await NavSystemStore.open(
                try await scratch.make("followup"), policy: followUpPolicy,
                breaches: Fixtures.breaches(.navFollowUpSink), logger: ScratchLocations.logger)
            let atFollowUp = try await followUpStore.apply(
                SinkBatch(
                    consumerGroup: "followup-sink",
                    records: [
                        Self.record(followUpPolicy.inboundTopic, 0, ceID: copyID, ceType: type, value: withReason)
                    ]))
            #expect(atFollowUp.breaches.isEmpty)
            #expect(try await followUpStore.eventsFromHealth().map(\.ceID) == [copyID])
            await followUpStore.close()
        }
    }

    @Test(
        "R10: without a quarantine key the sink refuses the whole batch (fail closed): nothing stored, offsets kept",
        arguments: TestEngine.available)
    func R10_withoutAQuarantineKeyNothingIsApplied(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await HealthJournalStore.open(
                try await scratch.make("health"), policy: Self.health, logger: ScratchLocations.logger)
            let jobStatus = try Self.forwardedJobStatus()
            let records = [
                Self.record(
                    Self.health.inboundTopic, 0, ceID: "ok-1", ceType: "no.ips.nav.job-status.v1", value: jobStatus),
                Self.record(
                    Self.health.inboundTopic, 1, ceID: "n-1", ceType: "no.ips.nav.follow-up-note.v1", value: jobStatus),
            ]
            await #expect(throws: StorageError.self) {
                try await store.apply(SinkBatch(consumerGroup: "health-sink", records: records))
            }
            #expect(try await store.eventsAwaitingClinician().isEmpty)
            #expect(try await store.offsets(consumerGroup: "health-sink").isEmpty)
            #expect(try await store.sinkRejections().isEmpty)
            await store.close()
        }
    }

    @Test(
        "R10: each side files the breach notices on its breach topic once; anything else there is refused",
        arguments: TestEngine.available)
    func R10_breachNoticesAreFiled(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await NavSystemStore.open(
                try await scratch.make("nav"), policy: Self.nav, breaches: Fixtures.breaches(.navCaseSink),
                logger: ScratchLocations.logger)
            let notice = BreachNotice(
                breachID: "5e2d9a10-3b4c-8f6e-9a8b-7c6d5e4f3a2b", detectedBy: .healthJournalSink,
                detectedAt: "2026-12-04T08:16:02.000Z",
                messageID: nil, messageType: "no.ips.nav.follow-up-note.v1", reason: "nav-internal-documentation",
                rule: "R3",
                source: SourcePosition(topic: "health.ips.inbound", partition: 1, offset: 9))
            let body = notice.jsonValue.serializedBytes()
            let topic = Self.nav.breachesTopic
            let records = [
                Self.record(topic, 0, ceID: notice.breachID, ceType: BreachNotice.ceType, value: body),
                Self.record(topic, 1, ceID: notice.breachID, ceType: BreachNotice.ceType, value: body),
                Self.record(
                    topic, 2, ceID: "x", ceType: BreachNotice.ceType,
                    value: try Self.withExtraMember(body, "patientId", knownFodselsnummer)),
            ]
            let result = try await store.apply(SinkBatch(consumerGroup: "nav-sink", records: records))
            #expect(result.breachNoticesReceived == 1)
            #expect(result.rejections.map(\.reason) == [.invalidBody])
            #expect(result.breaches.isEmpty, "a bad notice on NAV's own breach topic is not itself a crossing")
            #expect(try await store.breachLog() == [notice])
            await #expect(throws: StorageError.self) {
                try await store.database.transaction { sql in
                    try await sql.raw("UPDATE breach_log SET rule = 'R1'").run()
                }
            }
            await store.close()
        }
    }
}

/// The sinks' acceptance rules come from the contract catalog; the `standard` policies that
/// stores opened without one use (tools, tests) must say the same, or they drift unnoticed.
@Suite("Sink acceptance rules follow the contracts")
struct SinkAcceptanceRulesTests {
    @Test(
        "R3/R9: the health sink accepts exactly the NAV→health contracts and their anonymous forms; NAV-internal ones by name are refused"
    )
    func healthRulesFollowTheCatalog() {
        let fromCatalog = HealthSinkPolicy(catalog: Fixtures.catalog)
        #expect(fromCatalog.acceptedInboundTypes == HealthSinkPolicy.standard.acceptedInboundTypes)
        #expect(fromCatalog.navInternalTypes == HealthSinkPolicy.standard.navInternalTypes)
        #expect(fromCatalog.topics == HealthSinkPolicy.standard.topics)
        let navToHealth = Fixtures.catalog.contracts.filter { $0.direction == .navToHealth }
        #expect(!navToHealth.isEmpty)
        for contract in navToHealth { #expect(fromCatalog.acceptedInboundTypes.contains(contract.ceType)) }
        // Every accepted type is validated against its published contract.
        #expect(Set(fromCatalog.inboundSchemas?.keys.map { $0 } ?? []) == fromCatalog.acceptedInboundTypes)
        #expect(fromCatalog.breachSchema != nil && fromCatalog.disclosureSchema != nil)
        // NAV's own assessments, which the contracts allow on NAV's side, are refused here.
        #expect(
            fromCatalog.navInternalFields == [
                "no.ips.nav.job-status.v1": [["followUpAssessment"]],
                "no.ips.nav.candidate-suggestion.v1": [["caseworkerAssessment"]],
            ])
    }

    @Test(
        "R9: each NAV system's sink accepts exactly the health→NAV contracts with a copy for its role, and its own system's documentation"
    )
    func navRulesFollowTheCatalog() {
        for (system, standard) in [
            (ContractVocabulary.caseSystem, NavSinkPolicy.standard),
            (ContractVocabulary.followUpSolution, NavSinkPolicy.followUpStandard),
        ] {
            let fromCatalog = NavSinkPolicy(catalog: Fixtures.catalog, system: system)
            #expect(fromCatalog.kind == standard.kind)
            #expect(fromCatalog.acceptedInboundTypes == standard.acceptedInboundTypes, "\(system.role)")
            #expect(fromCatalog.ownDocumentationTypes == standard.ownDocumentationTypes, "\(system.role)")
            #expect(fromCatalog.neverSharedTypes == standard.neverSharedTypes, "\(system.role)")
            #expect(fromCatalog.neverSharedTypes.isSubset(of: fromCatalog.ownDocumentationTypes))
            #expect(fromCatalog.participantRegisteringTypes == standard.participantRegisteringTypes)
            #expect(fromCatalog.topics == standard.topics)
            #expect(Set(fromCatalog.inboundSchemas?.keys.map { $0 } ?? []) == fromCatalog.acceptedInboundTypes)
            #expect(Set(fromCatalog.notReceivablePaths.keys).isSubset(of: fromCatalog.acceptedInboundTypes))
        }
        // R13: what the veileder may never receive, outermost properties only; the job specialist
        // may receive every category.
        let caseFromCatalog = NavSinkPolicy(catalog: Fixtures.catalog, system: ContractVocabulary.caseSystem)
        #expect(caseFromCatalog.notReceivablePaths == ["no.ips.health.participation-change.v1": [["reason"]]])
        #expect(
            NavSinkPolicy(catalog: Fixtures.catalog, system: ContractVocabulary.followUpSolution).notReceivablePaths
                .isEmpty)
        // Neither system takes what is the other's: the veileder's case system never receives
        // health information, and the two systems document different things.
        let caseSystem = NavSinkPolicy.standard
        let followUp = NavSinkPolicy.followUpStandard
        #expect(!caseSystem.acceptedInboundTypes.contains("no.ips.health.work-relevant-health.v1"))
        #expect(!caseSystem.acceptedInboundTypes.contains("no.ips.health.treatment-coordination.v1"))
        #expect(caseSystem.ownDocumentationTypes.isDisjoint(with: followUp.ownDocumentationTypes))
        // R3/R11: only follow-up notes never cross; everything else a system publishes is sent to
        // health (its access report must not call it never shared).
        #expect(caseSystem.neverSharedTypes.isEmpty)
        #expect(followUp.neverSharedTypes == ["no.ips.nav.follow-up-note.v1"])
        #expect(Set(caseSystem.topics).intersection(followUp.topics) == [caseSystem.breachesTopic])
    }
}
