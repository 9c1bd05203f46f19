import ConsentBridgeTesting
import ConsentContracts
import ConsentStorage
import Foundation
import InMemoryLogging
import Logging
import SQLKit
import Testing

/// The health and NAV sinks' store side, run against every available engine (issue 4 items 2, 4, 5).
@Suite("Sink stores conformance")
struct SinkStoreConformanceTests {
    static let health = HealthSinkPolicy.standard
    /// The journal's policy as `consent-bridge run` makes it: from the contracts, so records are
    /// checked against them (the consent contract among them).
    static let healthAsRun = HealthSinkPolicy(catalog: Fixtures.catalog)
    static let nav = NavSinkPolicy.standard
    static let followUp = NavSinkPolicy.followUpStandard

    @Test(
        "R16: a record a sink refuses is logged and kept with a published type as it is, any other as a digest, and an id only when a UUID",
        arguments: TestEngine.available)
    func R16_refusedRecordsSendersTextIsNeverLoggedOrKept(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let logs = InMemoryLogHandler()
            var logger = Logger(label: "sink", factory: { _ in logs })
            logger.logLevel = .info
            let store = try await NavSystemStore.open(
                try await scratch.make("nav"), policy: .standard, breaches: Fixtures.breaches(.navCaseSink),
                logger: logger)
            // NAV's own outbound topic: a record of a type the sink does not know is refused
            // locally (not a breach). Its sender wrote a person's number into the type and the id.
            let record = Fixtures.event(
                topic: NavSinkPolicy.standard.ownOutboundTopic, offset: 0, ceID: "sak-\(knownFodselsnummer)",
                ceType: "no.ips.nav.secret-\(knownFodselsnummer).v1", key: "k")
            let result = try await store.apply(SinkBatch(consumerGroup: "nav-sink", records: [record]))
            #expect(result.rejections.count == 1 && result.breaches.isEmpty)
            let kept = try await store.sinkRejections()
            #expect(kept.count == 1)
            #expect(kept.allSatisfy { $0.ceType?.hasPrefix("unknown-") == true && $0.ceID == nil })
            let logText = logs.entries.map { "\($0.message) \($0.metadata)" }.joined()
            #expect(logText.contains("sink refused record"))
            // Before, the log line carried `ce.type` as the sender wrote it.
            #expect(!logText.contains(knownFodselsnummer), "\(logText)")
            await store.close()
        }
    }

    @Test(
        "R3: the health sink refuses NAV follow-up notes with a logged reason; the journal has no table for them",
        arguments: TestEngine.available)
    func R3_navFollowUpNeverReachesJournal(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let logs = InMemoryLogHandler()
            var logger = Logger(label: "sink", factory: { _ in logs })
            logger.logLevel = .info
            let store = try await HealthJournalStore.open(
                try await scratch.make("health"), breaches: Fixtures.breaches(.healthJournalSink), logger: logger)
            let note = Fixtures.event(
                topic: Self.health.inboundTopic, offset: 0, ceID: Self.noteID, ceType: "no.ips.nav.follow-up-note.v1",
                key: knownFodselsnummer, body: "{\"note\":\"jobbspesialistens notat om \(knownFodselsnummer)\"}")
            let futureNote = Fixtures.event(
                topic: Self.health.inboundTopic, offset: 1, ceID: "note-2", ceType: "no.ips.nav.follow-up-note.v2",
                key: knownFodselsnummer)
            let jobStatus = Fixtures.event(
                topic: Self.health.inboundTopic, offset: 2, ceID: "job-1", ceType: "no.ips.nav.job-status.v1",
                key: knownFodselsnummer)
            let result = try await store.apply(
                SinkBatch(consumerGroup: "health-sink", records: [note, futureNote, jobStatus]))
            #expect(result.stored == 1)
            #expect(result.rejections.map(\.reason) == [.navInternalDocumentation, .navInternalDocumentation])
            #expect(try await store.eventsAwaitingClinician().map(\.ceID) == ["job-1"])
            // The refusal log repeats a record's id only when it is a UUID (R10: a sender's text
            // could hold a person); the type only when it is a published contract's.
            #expect(try await store.sinkRejections().map(\.ceID) == [Self.noteID, nil])
            #expect(try await store.sinkRejections().map { $0.ceType?.hasPrefix("unknown-") == true } == [false, true])
            // R10: both are quarantined, out of the journal's tables.
            #expect(try await store.quarantined().map(\.rule) == ["R3", "R3"])
            // The offsets moved past the refused records: they are not retried forever.
            #expect(try await store.offsets(consumerGroup: "health-sink").map(\.nextOffset) == [3])

            let tables = try await store.database.tableNames()
            #expect(tables.allSatisfy { !$0.contains("follow_up") && !$0.contains("note") })

            let warnings = logs.entries.filter { $0.level == .warning }
            #expect(warnings.count == 2)
            #expect(logs.entries.filter { $0.level == .error && $0.metadata["breach.rule"] == "R3" }.count == 2)
            #expect(warnings.allSatisfy { $0.metadata["sink.reason"] == "nav-internal-documentation" })
            let logText = logs.entries.map { "\($0.message) \($0.metadata)" }.joined()
            #expect(!logText.contains(knownFodselsnummer), "the key or body leaked into logs")
            await store.close()
        }
    }

    static let noteID = "6f1c2a4e-5b6f-4c1d-9e8a-2b3c4d5e6f71"

    @Test(
        "R3: even a misconfigured allow-list cannot let follow-up notes into the journal",
        arguments: TestEngine.available)
    func R3_allowListCannotOverrideSeparation(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            var policy = Self.health
            policy.acceptedInboundTypes.insert("no.ips.nav.follow-up-note.v1")
            let store = try await HealthJournalStore.open(
                try await scratch.make("health"), policy: policy, breaches: Fixtures.breaches(.healthJournalSink),
                logger: ScratchLocations.logger)
            let result = try await store.apply(
                SinkBatch(
                    consumerGroup: "g",
                    records: [
                        Fixtures.event(
                            topic: policy.inboundTopic, offset: 0, ceID: "n", ceType: "no.ips.nav.follow-up-note.v1")
                    ]))
            #expect(result.stored == 0 && result.rejections.map(\.reason) == [.navInternalDocumentation])
            await store.close()
        }
    }

    @Test(
        "Fail closed: unknown types, missing headers, tombstones and foreign topics are refused",
        arguments: TestEngine.available)
    func unexpectedRecordsAreRefused(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await HealthJournalStore.open(
                try await scratch.make("health"), breaches: Fixtures.breaches(.healthJournalSink),
                logger: ScratchLocations.logger)
            var tombstone = Fixtures.event(
                topic: Self.health.inboundTopic, offset: 3, ceID: "t", ceType: "no.ips.nav.job-status.v1")
            tombstone.value = nil
            let records = [
                Fixtures.event(topic: Self.health.inboundTopic, offset: 0, ceID: "u", ceType: "no.ips.nav.unknown.v1"),
                Fixtures.event(
                    topic: Self.health.inboundTopic, offset: 1, ceID: nil, ceType: "no.ips.nav.job-status.v1"),
                Fixtures.event(topic: "nav.ips.outbound", offset: 0, ceID: "x", ceType: "no.ips.nav.job-status.v1"),
                Fixtures.event(
                    topic: Self.health.disclosuresTopic, offset: 0, ceID: "d", ceType: DisclosureNotice.ceType,
                    body: "{\"not\":\"a disclosure\"}"),
                tombstone,
            ]
            let result = try await store.apply(SinkBatch(consumerGroup: "g", records: records))
            #expect(result.stored == 0)
            #expect(
                result.rejections.map(\.reason) == [
                    .unacceptedEventType, .missingCloudEventHeaders, .unexpectedTopic, .invalidBody,
                    .unexpectedTombstone,
                ])
            #expect(try await store.eventsAwaitingClinician().isEmpty)
            // What reached the inbound topic is a breach (R10); the others are local refusals.
            #expect(
                Set(try await store.quarantined().map(\.reason)) == [
                    "unaccepted-event-type", "missing-cloudevent-headers", "unexpected-tombstone",
                ])
            await store.close()
        }
    }

    @Test(
        "Sinks are idempotent by ce_id: re-published and re-consumed records are stored once",
        arguments: TestEngine.available)
    func sinkIsIdempotentByCeID(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await NavSystemStore.open(try await scratch.make("nav"), logger: ScratchLocations.logger)
            let first = [
                Fixtures.event(
                    topic: Self.nav.inboundTopic, offset: 0, ceID: "r1", ceType: "no.ips.health.referral.v1"),
                Fixtures.event(
                    topic: Self.nav.inboundTopic, offset: 1, ceID: "r2", ceType: "no.ips.health.referral.v1"),
            ]
            let applied = try await store.apply(SinkBatch(consumerGroup: "nav-sink", records: first))
            #expect(applied.stored == 2)
            // The same records again (consumer replay) are below the stored offset: skipped.
            let replay = try await store.apply(SinkBatch(consumerGroup: "nav-sink", records: first))
            #expect(replay.stored == 0 && replay.alreadyApplied == 2)
            // The relay re-published r2 at a new offset (retry after a crash), twice in one batch.
            let republished = [
                Fixtures.event(
                    topic: Self.nav.inboundTopic, offset: 2, ceID: "r2", ceType: "no.ips.health.referral.v1"),
                Fixtures.event(
                    topic: Self.nav.inboundTopic, offset: 3, ceID: "r2", ceType: "no.ips.health.referral.v1"),
                Fixtures.event(
                    topic: Self.nav.inboundTopic, offset: 4, ceID: "r3", ceType: "no.ips.health.referral.v1"),
            ]
            let again = try await store.apply(SinkBatch(consumerGroup: "nav-sink", records: republished))
            #expect(again.stored == 1 && again.duplicates == 2)
            #expect(try await store.eventsFromHealth().map(\.ceID).sorted() == ["r1", "r2", "r3"])
            #expect(try await store.offsets(consumerGroup: "nav-sink").map(\.nextOffset) == [5])
            await store.close()
        }
    }

    @Test(
        "R9: the job specialist's follow-up store keeps its own follow-up documentation, participants and its disclosures",
        arguments: TestEngine.available)
    func R9_followUpStoreKeepsItsDocumentation(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await NavSystemStore.open(
                try await scratch.make("nav"), policy: Self.followUp, breaches: Fixtures.breaches(.navFollowUpSink),
                logger: ScratchLocations.logger)
            let navDisclosure = Fixtures.disclosure("n1", subject: "participant-7", direction: "nav-to-health")
            let records = [
                Fixtures.event(
                    topic: Self.followUp.ownOutboundTopic, offset: 0, ceID: "note-1",
                    ceType: "no.ips.nav.follow-up-note.v1",
                    key: "participant-7"),
                Fixtures.event(
                    topic: Self.followUp.inboundTopic, offset: 0, ceID: "ref-1", ceType: "no.ips.health.referral.v1",
                    key: "participant-7"),
                Fixtures.event(
                    topic: Self.followUp.inboundTopic, offset: 1, ceID: "bad", ceType: "no.ips.nav.follow-up-note.v1",
                    key: "participant-7"),
                try Fixtures.disclosureEvent(topic: Self.followUp.disclosuresTopic, offset: 0, navDisclosure),
                try Fixtures.disclosureEvent(
                    topic: Self.followUp.disclosuresTopic, offset: 1,
                    Fixtures.disclosure("h1", subject: "participant-7")),
            ]
            let result = try await store.apply(SinkBatch(consumerGroup: "nav-sink", records: records))
            #expect(result.stored == 3)
            #expect(result.rejections.map(\.reason) == [.unacceptedEventType, .invalidBody])
            #expect(try await store.followUpDocumentation(participantKey: "participant-7").map(\.ceID) == ["note-1"])
            #expect(try await store.participants() == ["participant-7"])
            // What the log keeps is what the published notice says (the one wire shape).
            #expect(
                try await store.disclosures(participantID: "participant-7") == [
                    try #require(DisclosureRecord(notice: navDisclosure.notice))
                ])
            // NAV's disclosure log is append-only too.
            await #expect(throws: StorageError.self) {
                try await store.database.transaction { sql in try await sql.raw("DELETE FROM disclosure_log").run() }
            }
            await store.close()
        }
    }

    @Test(
        "R4: the journal keeps consent history and the disclosure log, both append-only",
        arguments: TestEngine.available)
    func R4_journalKeepsConsentsAndDisclosures(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await HealthJournalStore.open(
                try await scratch.make("health"), logger: ScratchLocations.logger)
            var tombstone = Fixtures.consentEvent(offset: 2, patient: knownFodselsnummer, version: 3)
            tombstone.value = nil
            tombstone.headers = []
            let anonymous = Fixtures.disclosure("anon", subject: knownFodselsnummer, caseReference: "case-42")
            let records = [
                Fixtures.consentEvent(offset: 0, patient: knownFodselsnummer, version: 1),
                Fixtures.consentEvent(offset: 1, patient: knownFodselsnummer, version: 2, status: "withdrawn"),
                tombstone,
                try Fixtures.disclosureEvent(
                    topic: Self.health.disclosuresTopic, offset: 0,
                    Fixtures.disclosure("d1", subject: knownFodselsnummer)),
                try Fixtures.disclosureEvent(topic: Self.health.disclosuresTopic, offset: 1, anonymous),
            ]
            let result = try await store.apply(SinkBatch(consumerGroup: "health-sink", records: records))
            #expect(result.stored == 5 && result.rejections.isEmpty)
            let history = try await store.consentHistory(patientID: knownFodselsnummer)
            #expect(history.map(\.status) == ["granted", "withdrawn", "tombstone"])
            #expect(history.map(\.version) == [1, 2, nil])
            #expect(
                try await store.disclosures(patientID: knownFodselsnummer).map(\.disclosureID) == [
                    "disclosure-anon", "disclosure-d1",
                ])
            #expect(try await store.patientID(forCaseReference: "case-42") == knownFodselsnummer)
            for statement in ["UPDATE consent_history SET status = 'granted'", "DELETE FROM disclosure_log"] {
                await #expect(throws: StorageError.self) {
                    try await store.database.transaction { sql in try await sql.raw(SQLQueryString(statement)).run() }
                }
            }
            await store.close()
        }
    }

    @Test(
        "R4/R5: a consent record without the consent contract's CloudEvents envelope is journalled as unreadable, as the bridge treats it, once",
        arguments: TestEngine.available)
    func R5_journalRecordsConsentWithoutEnvelopeAsUnreadable(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await HealthJournalStore.open(
                try await scratch.make("health"), policy: Self.healthAsRun, logger: ScratchLocations.logger)
            let other = "03919540000"
            var headerless = Fixtures.consentEvent(offset: 1, patient: knownFodselsnummer, version: 2)
            headerless.headers = []
            var wrongType = Fixtures.consentEvent(offset: 2, patient: knownFodselsnummer, version: 3)
            wrongType.headers = wrongType.headers.map {
                $0.name == "ce_type" ? MessageHeader(name: "ce_type", text: "no.ips.health.referral.v1") : $0
            }
            var withoutSource = Fixtures.consentEvent(offset: 3, patient: knownFodselsnummer, version: 4)
            withoutSource.headers.removeAll { $0.name == "ce_source" }
            // Without its envelope and under another person's key: both persons, as the bridge.
            var misaddressed = Fixtures.consentEvent(offset: 4, patient: knownFodselsnummer, version: 5)
            misaddressed.headers = []
            misaddressed.key = Array(other.utf8)
            let records = [
                Fixtures.consentEvent(offset: 0, patient: knownFodselsnummer, version: 1), headerless, wrongType,
                withoutSource, misaddressed,
            ]
            let result = try await store.apply(SinkBatch(consumerGroup: "health-sink", records: records))
            #expect(result.rejections.isEmpty)
            let expected = ["granted", "unreadable", "unreadable", "unreadable", "unreadable"]
            #expect(try await store.consentHistory(patientID: knownFodselsnummer).map(\.status) == expected)
            #expect(try await store.consentHistory(patientID: other).map(\.status) == ["unreadable"])
            // Delivered again (a sink restart before its offsets were committed): journalled once.
            _ = try await store.apply(SinkBatch(consumerGroup: "health-sink", records: records))
            #expect(try await store.consentHistory(patientID: knownFodselsnummer).map(\.status) == expected)
            await store.close()
        }
    }

    @Test(
        "R5: a consent record without its key, under another person's key, unreadable or breaking the consent contract under its person's key, is journalled as unreadable for each person it names, as the bridge reads it",
        arguments: TestEngine.available)
    func R5_journalAgreesWithTheBridgeOnKeylessAndMismatchedRecords(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await HealthJournalStore.open(
                try await scratch.make("health"), policy: Self.healthAsRun, logger: ScratchLocations.logger)
            let other = "03919540000"
            var keyless = Fixtures.consentEvent(offset: 1, patient: knownFodselsnummer, version: 2, status: "withdrawn")
            keyless.key = nil
            var mismatched = Fixtures.consentEvent(offset: 2, patient: knownFodselsnummer, version: 3)
            mismatched.key = Array(other.utf8)
            // Under the person's key, but not JSON: the bridge treats it as no consent in force.
            var broken = Fixtures.consentEvent(offset: 3, patient: knownFodselsnummer, version: 4)
            broken.value = Array(#"{"patientId": "#.utf8)
            var brokenKeyless = Fixtures.consentEvent(offset: 4, patient: knownFodselsnummer, version: 5)
            brokenKeyless.value = broken.value
            brokenKeyless.key = nil
            // JSON, under the person's key and envelope, but breaking the consent contract (a
            // consent id that is no UUID; a required field missing): no consent for the bridge, so
            // none for the journal, whatever status it claims (until 2026-12-07: "granted").
            let notAUUID = Fixtures.consentEvent(offset: 5, patient: knownFodselsnummer, version: 6) {
                $0["consentId"] = "consent-\(knownFodselsnummer)"
            }
            let withoutForm = Fixtures.consentEvent(offset: 6, patient: knownFodselsnummer, version: 7) {
                $0["form"] = nil
            }
            let records = [
                Fixtures.consentEvent(offset: 0, patient: knownFodselsnummer, version: 1), keyless, mismatched, broken,
                brokenKeyless, notAUUID, withoutForm,
            ]
            let result = try await store.apply(SinkBatch(consumerGroup: "health-sink", records: records))
            // Without a key the broken record names nobody: refused, not journalled.
            #expect(result.rejections.count == 1)
            #expect(
                try await store.consentHistory(patientID: knownFodselsnummer).map(\.status) == [
                    "granted", "unreadable", "unreadable", "unreadable", "unreadable", "unreadable",
                ])
            #expect(try await store.consentHistory(patientID: other).map(\.status) == ["unreadable"])
            await store.close()
        }
    }
}
