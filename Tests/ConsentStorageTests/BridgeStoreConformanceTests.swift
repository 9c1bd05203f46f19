import ConsentBridgeTesting
import ConsentStorage
import Foundation
import Logging
import SQLKit
import Synchronization
import Testing

/// The bridge store's contract, run against every available engine (issue 4 items 1, 3, 6).
@Suite("Bridge store conformance")
struct BridgeStoreConformanceTests {
    @Test(
        "PostgreSQL conformance runs (skipped without CONSENT_BRIDGE_TEST_POSTGRES_URL)",
        .enabled(if: TestEngine.postgresURL != nil, Comment(rawValue: TestEngine.skipMessage)))
    func postgresIsReachable() async throws {
        try await withScratch(.postgres) { scratch in
            let store = try await BridgeStore.open(try await scratch.make("reach"), logger: ScratchLocations.logger)
            #expect(store.database.engine == .postgres)
            await store.close()
        }
    }

    @Test(
        "CI must not silently skip PostgreSQL",
        .enabled(if: TestEngine.isPostgresRequired))
    func postgresRequiredInCI() {
        #expect(
            TestEngine.postgresURL != nil,
            "CONSENT_BRIDGE_TEST_REQUIRE_POSTGRES=1 but CONSENT_BRIDGE_TEST_POSTGRES_URL is not set")
    }

    @Test("Migrations run once at start-up and are recorded with versions", arguments: TestEngine.available)
    func migrationsAreVersionedAndRunOnce(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let location = try await scratch.make("migrate")
            let first = try await BridgeStore.open(location, logger: ScratchLocations.logger)
            await first.close()
            let second = try await BridgeStore.open(location, logger: ScratchLocations.logger)
            let versions = try await second.database.read { sql in
                try await sql.raw("SELECT version, name FROM schema_migrations").all().map {
                    try $0.decode(column: "version", as: Int64.self)
                }
            }
            #expect(versions == Array(1...17))
            let tables = try await second.database.tableNames()
            #expect(
                tables.isSuperset(of: [
                    "decisions", "disclosures", "anonymous_disclosures", "outbox", "rejections", "redrives",
                    "outbox_progress", "outbox_done", "outbox_record_numbers", "consumer_offsets", "consent_view",
                    "store_identity",
                ]))
            await second.close()
        }
    }

    @Test("R9: a database keeps the store kind it was created as", arguments: TestEngine.available)
    func R9_openingAnotherKindOfStoreFails(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let location = try await scratch.make("kind")
            let health = try await HealthJournalStore.open(location, logger: ScratchLocations.logger)
            await health.close()
            let navError = await #expect(throws: StorageError.self) {
                _ = try await NavSystemStore.open(location, logger: ScratchLocations.logger)
            }
            #expect(navError?.code == .wrongStoreKind)
            let bridgeError = await #expect(throws: StorageError.self) {
                _ = try await BridgeStore.open(location, logger: ScratchLocations.logger)
            }
            #expect(bridgeError?.code == .wrongStoreKind)
            // The refused open wrote nothing: the database is still only a health journal.
            let reopened = try await HealthJournalStore.open(location, logger: ScratchLocations.logger)
            let tables = try await reopened.database.tableNames()
            #expect(!tables.contains("follow_up_documentation") && !tables.contains("decisions"))
            await reopened.close()
        }
    }

    @Test("Batch write records everything at once; the same ids again change nothing", arguments: TestEngine.available)
    func batchWriteIsExactlyOnce(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await BridgeStore.open(try await scratch.make("bridge"), logger: ScratchLocations.logger)
            let batch = BridgeBatch(
                messages: [
                    Fixtures.message("m1", offset: 0), Fixtures.message("m2", offset: 1, outcome: .reject),
                    Fixtures.message("m3", offset: 2),
                ],
                offsets: [Fixtures.offset(3)])
            let first = try await store.record(batch)
            #expect(first.recordedMessageIDs == ["m1", "m2", "m3"])
            #expect(first.duplicateMessageIDs.isEmpty)
            let countsAfterFirst = try await Self.counts(store)
            #expect(countsAfterFirst == Counts(decisions: 3, disclosures: 2, outbox: 3, rejections: 1))

            let second = try await store.record(batch)
            #expect(second.recordedMessageIDs.isEmpty)
            #expect(Set(second.duplicateMessageIDs) == ["m1", "m2", "m3"])
            #expect(try await Self.counts(store) == countsAfterFirst)

            // A later batch repeating one old id plus one new id writes only the new one.
            let mixed = try await store.record(
                BridgeBatch(
                    messages: [
                        Fixtures.message("m3", offset: 2), Fixtures.message("m4", offset: 3),
                        Fixtures.message("m4", offset: 3),
                    ],
                    offsets: [Fixtures.offset(4)]))
            #expect(mixed.recordedMessageIDs == ["m4"])
            #expect(mixed.duplicateMessageIDs.sorted() == ["m3", "m4"])
            #expect(try await Self.counts(store) == Counts(decisions: 4, disclosures: 3, outbox: 4, rejections: 1))
            #expect(try await store.offsets(consumerGroup: "bridge") == [Fixtures.offset(4)])

            let decision = try #require(try await store.decision(messageID: "m2"))
            #expect(decision.outcome == .reject && decision.reasonCode == "no-consent" && decision.offset == 1)
            let rejection = try #require(try await store.rejections(limit: 10).first)
            #expect(rejection.sealedPayload == [0xde, 0xad, 0xbe, 0xef] && rejection.sealingKeyID == "health-key-1")
            await store.close()
        }
    }

    /// Every disclosure the bridge sends is logged (R4): the store itself refuses an outbox row
    /// that names a decision or disclosure it has not recorded, whatever code writes it, and a
    /// decision its outbox rows name cannot be removed or renamed. SQLite's foreign keys give
    /// that; on PostgreSQL, where per-row checks cost a quarter of a batch write, one check per
    /// statement (store version 10, `StatementReferenceChecks`).
    @Test(
        "R4: the store refuses outbox rows naming an unrecorded decision or disclosure, and keeps the decisions they name",
        arguments: TestEngine.available)
    func outboxRowsNameRecordedDecisionsAndDisclosures(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await BridgeStore.open(
                try await scratch.make("references"), logger: ScratchLocations.logger)
            _ = try await store.record(BridgeBatch(messages: [Fixtures.message("m1", offset: 0)], offsets: []))
            let disclosureID = try await store.database.read { sql in
                try await sql.raw("SELECT disclosure_id FROM outbox WHERE message_id = 'm1'").first()?
                    .decode(column: "disclosure_id", as: String.self)
            }
            let recorded = try #require(disclosureID)
            var before = try await Self.counts(store)
            func insertOutbox(messageID: String, disclosureID: String?) async throws {
                try await store.database.transaction { sql in
                    try await sql.raw(
                        """
                        INSERT INTO outbox (message_id, disclosure_id, topic, headers, payload, created_at)
                        VALUES (\(bind: messageID), \(bind: disclosureID), 'nav.ips.inbound', '', \(bind: Data()), \
                        '2026-12-05T00:00:00.000Z')
                        """
                    ).run()
                }
            }
            func run(_ statement: SQLQueryString) async throws {
                try await store.database.transaction { sql in try await sql.raw(statement).run() }
            }
            await #expect(throws: StorageError.self, "a row without its decision") {
                try await insertOutbox(messageID: "never-decided", disclosureID: nil)
            }
            await #expect(throws: StorageError.self, "a row naming a disclosure never logged") {
                try await insertOutbox(messageID: "m1", disclosureID: "never-disclosed")
            }
            await #expect(throws: StorageError.self, "a row changed to name a disclosure never logged") {
                try await run("UPDATE outbox SET disclosure_id = 'never-disclosed' WHERE message_id = 'm1'")
            }
            #expect(try await Self.counts(store) == before)
            // Rows that name what is recorded still go in: the check refuses only the unrecorded.
            try await insertOutbox(messageID: "m1", disclosureID: recorded)
            try await insertOutbox(messageID: "m1", disclosureID: nil)
            // A decision only an outbox row names (no disclosure or rejection row beside it).
            try await run(Fixtures.decisionRow("bare", outcome: "reject", offset: 9))
            try await insertOutbox(messageID: "bare", disclosureID: nil)
            before.outbox += 3
            before.decisions += 1
            #expect(try await Self.counts(store) == before)
            await #expect(throws: StorageError.self, "a named decision removed") {
                try await run("DELETE FROM decisions WHERE message_id = 'bare'")
            }
            await #expect(throws: StorageError.self, "a named decision renamed") {
                try await run("UPDATE decisions SET message_id = 'renamed' WHERE message_id = 'bare'")
            }
            #expect(try await Self.counts(store) == before)
            await store.close()
        }
    }

    /// The other tables a batch writes name their decision too (R4), and a statement is checked
    /// whole: one row naming an unrecorded decision among recorded ones fails the statement, and
    /// none of its rows stays. Each statement writes two rows, as a batch's statements do.
    @Test(
        "R4: disclosures, anonymous disclosures and rejections name recorded decisions; one unrecorded among many fails the statement",
        arguments: TestEngine.available)
    func batchRowsNameRecordedDecisions(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await BridgeStore.open(try await scratch.make("named"), logger: ScratchLocations.logger)
            _ = try await store.record(BridgeBatch(messages: [Fixtures.message("m1", offset: 0)], offsets: []))
            func run(_ statement: SQLQueryString) async throws {
                try await store.database.transaction { sql in try await sql.raw(statement).run() }
            }
            func count(_ table: String) async throws -> Int {
                try await store.database.read { sql in
                    Int(
                        try await sql.raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table)").first()?.decode(
                            column: "n", as: Int64.self) ?? -1)
                }
            }
            try await run(Fixtures.decisionRow("m2", outcome: "reject", offset: 1))
            // One statement per table, with a row for "m2" and one for `second`.
            func statements(second: String) -> [(table: String, statement: String)] {
                let names = "(SELECT 'm2' AS id UNION ALL SELECT '\(second)' AS id) m"
                // m1's disclosure (the copies made below sort after it).
                let first = "(SELECT MIN(disclosure_id) FROM disclosures)"
                return [
                    (
                        "disclosures",
                        """
                        INSERT INTO disclosures (disclosure_id, event_id, ce_type, direction, subject_id, recipient_role, \
                        recipient_organisation, categories, form, purpose, disclosed_at, bridge_version, message_id) \
                        SELECT d.disclosure_id || '-' || m.id, d.event_id, d.ce_type, d.direction, d.subject_id, \
                        d.recipient_role, d.recipient_organisation, d.categories, d.form, d.purpose, d.disclosed_at, \
                        d.bridge_version, m.id FROM disclosures d CROSS JOIN \(names) WHERE d.disclosure_id = \(first)
                        """
                    ),
                    (
                        "anonymous_disclosures",
                        """
                        INSERT INTO anonymous_disclosures (disclosure_id, message_id, ce_type, direction, recipient_role, \
                        recipient_organisation, purpose, disclosed_at, bridge_version) \
                        SELECT 'anonymous-' || m.id, m.id, d.ce_type, d.direction, d.recipient_role, \
                        d.recipient_organisation, d.purpose, d.disclosed_at, d.bridge_version \
                        FROM disclosures d CROSS JOIN \(names) WHERE d.disclosure_id = \(first)
                        """
                    ),
                    (
                        "rejections",
                        """
                        INSERT INTO rejections (message_id, reason_code, received_at) \
                        SELECT m.id, 'no-consent', '2026-12-05T00:00:00.000Z' FROM \(names)
                        """
                    ),
                ]
            }
            for (table, statement) in statements(second: "never-decided") {
                let before = try await count(table)
                await #expect(throws: StorageError.self, "\(table): one row of two names no decision") {
                    try await run(SQLQueryString(statement))
                }
                #expect(try await count(table) == before, "\(table): neither row stays")
            }
            // The same statements naming recorded decisions only go in.
            for (table, statement) in statements(second: "m1") {
                let before = try await count(table)
                try await run(SQLQueryString(statement))
                #expect(try await count(table) == before + 2, "\(table)")
            }
            await #expect(throws: StorageError.self, "a rejection moved to a decision never made") {
                try await run("UPDATE rejections SET message_id = 'never-decided' WHERE message_id = 'm2'")
            }
            #expect(try await count("rejections") == 2)
            await store.close()
        }
    }

    @Test("A failing batch leaves no trace: not its ids, rows or offsets", arguments: TestEngine.available)
    func failedBatchRollsBackEverything(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await BridgeStore.open(try await scratch.make("rollback"), logger: ScratchLocations.logger)
            _ = try await store.record(
                BridgeBatch(messages: [Fixtures.message("a", offset: 0)], offsets: [Fixtures.offset(1)]))
            // Message "b" reuses disclosure id of "a": the disclosure insert fails mid-batch.
            var clash = Fixtures.message("b", offset: 1)
            clash.disclosures[0].disclosureID = "disclosure-a"
            await #expect(throws: StorageError.self) {
                _ = try await store.record(
                    BridgeBatch(messages: [Fixtures.message("c", offset: 1), clash], offsets: [Fixtures.offset(2)]))
            }
            #expect(try await store.hasRecorded(messageID: "b") == false)
            #expect(try await store.hasRecorded(messageID: "c") == false)
            #expect(try await store.offsets(consumerGroup: "bridge") == [Fixtures.offset(1)])
            #expect(try await Self.counts(store) == Counts(decisions: 1, disclosures: 1, outbox: 1, rejections: 0))
            // The store is usable after the rollback.
            let retry = try await store.record(
                BridgeBatch(messages: [Fixtures.message("c", offset: 1)], offsets: [Fixtures.offset(2)]))
            #expect(retry.recordedMessageIDs == ["c"])
            await store.close()
        }
    }

    @Test("Offsets only move forward", arguments: TestEngine.available)
    func offsetsOnlyMoveForward(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await BridgeStore.open(try await scratch.make("offsets"), logger: ScratchLocations.logger)
            _ = try await store.record(
                BridgeBatch(messages: [], offsets: [Fixtures.offset(10), Fixtures.offset(5, partition: 1)]))
            _ = try await store.record(
                BridgeBatch(messages: [], offsets: [Fixtures.offset(7), Fixtures.offset(9, partition: 1)]))
            #expect(
                try await store.offsets(consumerGroup: "bridge") == [
                    Fixtures.offset(10), Fixtures.offset(9, partition: 1),
                ])
            #expect(try await store.offsets(consumerGroup: "other").isEmpty)
            await store.close()
        }
    }

    @Test("R4: disclosures cannot be updated or deleted, enforced by the database", arguments: TestEngine.available)
    func R4_disclosuresAreAppendOnly(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await BridgeStore.open(
                try await scratch.make("appendonly"), logger: ScratchLocations.logger)
            _ = try await store.record(BridgeBatch(messages: [Fixtures.message("a", offset: 0)], offsets: []))
            for statement in ["UPDATE disclosures SET purpose = 'other'", "DELETE FROM disclosures"] {
                let error = await #expect(throws: StorageError.self) {
                    try await store.database.transaction { sql in try await sql.raw(SQLQueryString(statement)).run() }
                }
                #expect(error?.code == .queryFailed)
                #expect(error.map { !String(describing: $0).contains(knownFodselsnummer) } ?? true)
            }
            if engine == .postgres {
                await #expect(throws: StorageError.self) {
                    try await store.database.transaction { sql in
                        try await sql.raw("TRUNCATE disclosures CASCADE").run()
                    }
                }
            }
            let kept = try await store.disclosures(subjectID: knownFodselsnummer)
            #expect(kept == [Fixtures.message("a", offset: 0).disclosures[0]])
            await store.close()
        }
    }

    @Test(
        "R9: records settled without publishing (withheld, refused) move the settled mark too: their rows' content is erased without waiting for a later record",
        arguments: TestEngine.available)
    func R9_withheldAndRefusedRecordsAreErased(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await BridgeStore.open(try await scratch.make("settled"), logger: ScratchLocations.logger)
            let recorded = try await store.record(
                BridgeBatch(messages: (1...4).map { Fixtures.message("m\($0)", offset: Int64($0)) }, offsets: []))
            let numbers = recorded.outbox.map(\.sequence)
            func isErased() async throws -> [Bool] {
                try await store.storedOutboxContent().map(\.isErased)
            }
            try await store.markPublished(sequences: [numbers[0]])
            // The third is withheld while the second is pending: the mark stops below the second.
            try await store.markWithheld(sequence: numbers[2], reasonCode: "consent-withdrawn")
            #expect(try await isErased() == [true, false, false, false])
            // Refusing the second settles the run up to the third.
            try await store.markFailed(
                sequences: [numbers[1]], errorCode: "msg_size_too_large", withholdingReason: "refused-by-broker")
            #expect(try await isErased() == [true, true, true, false])
            // The last record withheld, with nothing after it: erased at once.
            try await store.markWithheld(sequence: numbers[3], reasonCode: "consent-withdrawn")
            #expect(try await isErased() == [true, true, true, true])
            let statuses = try await store.database.read { sql in
                try await sql.raw("SELECT status FROM outbox_status ORDER BY seq").all().map {
                    try $0.decode(column: "status", as: String.self)
                }
            }
            #expect(statuses == ["published", "failed", "withheld", "withheld"])
            #expect(try await store.pendingOutboxCount() == 0)
            #expect(try await store.pendingOutbox(limit: 10).isEmpty)
            // The refused copy was not disclosed either.
            #expect(try await store.withheldDisclosureIDs() == ["disclosure-m2", "disclosure-m3", "disclosure-m4"])
            await store.close()
        }
    }

    @Test(
        "R4/R5: a copy the broker refused is recorded as withheld beside its disclosure when it is settled, and still reads so after the store is reopened; a row settled before keeps its verdict",
        arguments: TestEngine.available)
    func R4_refusedCopiesAreRecordedAsWithheld(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let location = try await scratch.make("refused")
            let store = try await BridgeStore.open(location, logger: ScratchLocations.logger)
            let recorded = try await store.record(
                BridgeBatch(messages: (1...4).map { Fixtures.message("r\($0)", offset: Int64($0)) }, offsets: []))
            let numbers = recorded.outbox.map(\.sequence)
            try await store.markPublished(sequences: [numbers[0]])
            try await store.markWithheld(sequence: numbers[2], reasonCode: "consent-withdrawn")
            // The relay settles what a cluster refused; the first and third were settled before.
            try await store.markFailed(
                sequences: [numbers[0], numbers[1], numbers[2]], errorCode: "invalid_record",
                withholdingReason: "refused-by-broker")
            // Settling it again (a retried step) changes nothing.
            try await store.markFailed(
                sequences: [numbers[1]], errorCode: "invalid_record", withholdingReason: "refused-by-broker")
            await store.close()

            // What a relay reads after a restart, for the notices and receipts still pending.
            let reopened = try await BridgeStore.open(location, logger: ScratchLocations.logger)
            let reasons = try await reopened.withholdingReasons(
                disclosureIDs: ["disclosure-r1", "disclosure-r2", "disclosure-r3", "disclosure-r4"])
            let statuses = try await reopened.database.read { sql in
                try await sql.raw("SELECT status FROM outbox_status ORDER BY seq").all().map {
                    try $0.decode(column: "status", as: String.self)
                }
            }
            await reopened.close()
            #expect(reasons == ["disclosure-r2": "refused-by-broker", "disclosure-r3": "consent-withdrawn"])
            #expect(statuses == ["published", "failed", "withheld", "pending"])
        }
    }

    @Test(
        "R4/R2: an anonymous copy the broker refused, or withheld before it was sent, is recorded as withheld beside its anonymous disclosure (no person) and still reads so after a reopen; a refused notice or receipt records nothing",
        arguments: TestEngine.available)
    func R4_refusedAnonymousCopiesAreRecordedAsWithheld(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let location = try await scratch.make("anonymous-refused")
            let store = try await BridgeStore.open(location, logger: ScratchLocations.logger)
            let messages = ["a1", "a2", "a3"].enumerated().map { Self.anonymousMessage($1, offset: Int64($0)) }
            let recorded = try await store.record(BridgeBatch(messages: messages, offsets: []))
            // Three records each, in order: the copy, its notice, the receipt.
            let numbers = recorded.outbox.map(\.sequence)
            #expect(numbers.count == 9)
            // a1's copy refused by its cluster; a2's withheld before it was sent (too large).
            try await store.markFailed(
                sequences: [numbers[0]], errorCode: "invalid_record", withholdingReason: "refused-by-broker")
            try await store.markWithheld(sequence: numbers[3], reasonCode: "too-large-for-broker")
            // a3's copy crossed; its notice and receipt were refused themselves.
            try await store.markPublished(sequences: [numbers[6]])
            try await store.markFailed(
                sequences: [numbers[7], numbers[8]], errorCode: "invalid_record", withholdingReason: "refused-by-broker"
            )
            await store.close()

            // What a relay reads after a restart, for the notices and receipts still pending.
            let reopened = try await BridgeStore.open(location, logger: ScratchLocations.logger)
            let reasons = try await reopened.withholdingReasons(
                disclosureIDs: ["disclosure-a1", "disclosure-a2", "disclosure-a3"])
            let withheld = try await reopened.withheldDisclosureIDs()
            let columns = try await reopened.database.read { sql in
                try await sql.raw("SELECT * FROM anonymous_disclosure_withholdings").all().map(\.allColumns)
            }
            // Append-only, as the identified disclosures' withholdings.
            await #expect(throws: StorageError.self) {
                try await reopened.database.transaction { sql in
                    try await sql.raw("UPDATE anonymous_disclosure_withholdings SET reason_code = 'x'").run()
                }
            }
            await reopened.close()
            #expect(reasons == ["disclosure-a1": "refused-by-broker", "disclosure-a2": "too-large-for-broker"])
            #expect(withheld == ["disclosure-a1", "disclosure-a2"])
            #expect(
                columns.count == 2 && columns.allSatisfy { Set($0) == ["disclosure_id", "reason_code", "withheld_at"] })
        }
    }

    /// An anonymous forward as the bridge records it: the disclosure (anonymous form), the copy
    /// (no disclosure id on its row, its `ce_id` the disclosure's id), the sending side's
    /// notice (erased once settled) and the receipt, both following the copy.
    static func anonymousMessage(_ id: String, offset: Int64) -> BridgeMessageRecord {
        var message = Fixtures.message(id, offset: offset)
        message.decision.outcome = .forwardAnonymous
        message.disclosures[0].form = "anonymous"
        message.disclosures[0].caseReference = "case-\(id)"
        let disclosureID = message.disclosures[0].disclosureID
        let follows = MessageHeader(name: BridgeHeaders.internalFollows, text: disclosureID)
        message.outbox = [
            OutboxRecord(
                topic: "nav.ips.inbound", key: Array("case-\(id)".utf8),
                headers: [MessageHeader(name: BridgeHeaders.id, text: disclosureID)],
                payload: Array(#"{"caseReference":"case-\#(id)"}"#.utf8)),
            OutboxRecord(
                topic: "health.ips.disclosures", key: Array(knownFodselsnummer.utf8),
                headers: [MessageHeader(name: BridgeHeaders.id, text: "disclosure:\(disclosureID)"), follows],
                payload: Array(#"{"form":"anonymous"}"#.utf8), isErasedOnceSettled: true),
            OutboxRecord(
                topic: "health.ips.receipts", key: Array(id.utf8),
                headers: [MessageHeader(name: BridgeHeaders.id, text: "receipt:\(id)"), follows],
                payload: Array(#"{"outcome":"anonymized"}"#.utf8)),
        ]
        return message
    }

    @Test(
        "R9: a rejection's sealed payload is erased once its retention ends, oldest first and in bounded steps; its metadata stays",
        arguments: TestEngine.available)
    func R9_sealedPayloadsExpire(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await BridgeStore.open(try await scratch.make("retention"), logger: ScratchLocations.logger)
            // Five rejections received a day apart, the oldest first, and one forward.
            let days = 0..<5
            let rejected = days.map { day in
                var message = Fixtures.message("r\(day)", offset: Int64(day), outcome: .reject)
                message.rejection?.receivedAt = Fixtures.time.addingTimeInterval(Double(day) * 86_400)
                return message
            }
            _ = try await store.record(
                BridgeBatch(messages: rejected + [Fixtures.message("f", offset: 9)], offsets: []))
            func kept() async throws -> [String] {
                try await store.database.read { sql in
                    try await sql.raw(
                        "SELECT message_id FROM rejections WHERE sealed_payload IS NOT NULL ORDER BY message_id"
                    ).all().map { try $0.decode(column: "message_id", as: String.self) }
                }
            }
            let erasedAt = Fixtures.time.addingTimeInterval(10 * 86_400)
            // Received before day 3 (exclusive): r0, r1, r2; at most two per step, oldest first.
            let cutoff = Fixtures.time.addingTimeInterval(3 * 86_400)
            #expect(try await store.eraseSealedPayloads(receivedBefore: cutoff, limit: 2, now: erasedAt) == 2)
            #expect(try await kept() == ["r2", "r3", "r4"])
            #expect(try await store.eraseSealedPayloads(receivedBefore: cutoff, limit: 2, now: erasedAt) == 1)
            #expect(try await store.eraseSealedPayloads(receivedBefore: cutoff, limit: 2, now: erasedAt) == 0)
            #expect(try await kept() == ["r3", "r4"])

            // What stays: the row, its reason, type and times, for counts and trends; the
            // redrive and the operators' views learn that (and when) the payload was erased.
            let expired = try #require(try await store.storedRejection(messageID: "r0"))
            #expect(expired.rejection.sealedPayload == nil)
            #expect(expired.rejection.reasonCode == "no-consent" && expired.rejection.receivedAt == Fixtures.time)
            #expect(expired.sealedPayloadErasedAt == erasedAt)
            let live = try #require(try await store.storedRejection(messageID: "r3"))
            #expect(live.rejection.sealedPayload == rejected[3].rejection?.sealedPayload)
            #expect(live.sealedPayloadErasedAt == nil)
            let summaries = try await store.rejectionSummaries(RejectionQuery(), limit: 10, offset: 0)
            #expect(summaries.total == 5)
            #expect(
                summaries.items.sorted { $0.messageID < $1.messageID }.map {
                    [$0.isSealed, $0.sealedPayloadErasedAt != nil]
                }
                    == [[false, true], [false, true], [false, true], [true, false], [true, false]])
            #expect(try await store.rejectionCounts(RejectionQuery(), per: .day).map(\.count).reduce(0, +) == 5)
            await store.close()
        }
    }

    @Test(
        "R9: two instances erasing the same store's expired payloads at once erase each exactly once",
        arguments: TestEngine.available)
    func R9_concurrentRetentionPassesEraseEachOnce(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let location = try await scratch.make("retention-shared")
            let first = try await BridgeStore.open(location, logger: ScratchLocations.logger)
            let second = try await BridgeStore.open(location, logger: ScratchLocations.logger)
            let count = 600
            _ = try await first.record(
                BridgeBatch(
                    messages: (0..<count).map { Fixtures.message("r\($0)", offset: Int64($0), outcome: .reject) },
                    offsets: []))
            let cutoff = Fixtures.time.addingTimeInterval(1)
            func erase(_ store: BridgeStore) async throws -> Int {
                var total = 0
                while true {
                    let erased = try await store.eraseSealedPayloads(receivedBefore: cutoff, limit: 25)
                    total += erased
                    if erased == 0 { return total }
                }
            }
            async let a = erase(first)
            async let b = erase(second)
            let (byFirst, bySecond) = try await (a, b)
            #expect(byFirst + bySecond == count, "\(byFirst) + \(bySecond) erasures of \(count) payloads")
            let kept = try await first.database.read { sql in
                try await sql.raw("SELECT COUNT(*) AS n FROM rejections WHERE sealed_payload IS NOT NULL").first()?
                    .decode(column: "n", as: Int64.self)
            }
            #expect(kept == 0)
            await first.close()
            await second.close()
        }
    }

    @Test(
        "R9: one settling larger than the erasure's step erases every row it settles",
        arguments: TestEngine.available)
    func R9_largeSettlingErasesAll(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await BridgeStore.open(try await scratch.make("large"), logger: ScratchLocations.logger)
            let count = Int(BridgeStore.contentErasureStep) + 100
            let recorded = try await store.record(
                BridgeBatch(
                    messages: (0..<count).map { Fixtures.message("m\($0)", offset: Int64($0)) }, offsets: []))
            try await store.markPublished(sequences: recorded.outbox.map(\.sequence))
            let content = try await store.storedOutboxContent()
            #expect(content.count == count)
            let kept = content.filter { !$0.isErased }.count
            #expect(kept == 0, "\(kept) of \(count) settled rows keep their content")
            await store.close()
        }
    }

    @Test(
        "R2/R5/R9: an anonymous copy's row names its person for the relay's re-check only until it is settled: withheld or published, its key, payload and person are erased at once (its id and type stay, the withholding is recorded), even while a row below keeps the settled mark back",
        arguments: TestEngine.available)
    func R2_anonymousCopysPersonIsErasedOnceSettled(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await BridgeStore.open(
                try await scratch.make("anonymous-person"), logger: ScratchLocations.logger)
            // As `BridgeRecordBuilder` records the copy: the person last, as the re-check header.
            func anonymous(_ id: String, offset: Int64) -> BridgeMessageRecord {
                var message = Self.anonymousMessage(id, offset: offset)
                message.outbox[0].headers.append(MessageHeader(name: BridgeHeaders.type, text: "no.ips.test.v1"))
                message.outbox[0].headers.append(
                    MessageHeader(name: BridgeHeaders.internalSubject, text: knownFodselsnummer))
                message.outbox[0].isErasedOnceSettled = true
                return message
            }
            // A named message first, left pending: the settled mark cannot pass the copies.
            let recorded = try await store.record(
                BridgeBatch(
                    messages: [
                        Fixtures.message("named", offset: 0), anonymous("w", offset: 1), anonymous("p", offset: 2),
                    ],
                    offsets: []))
            func copy(_ id: String) throws -> StoredOutboxRow {
                try #require(recorded.outbox.first { $0.record.headerText(BridgeHeaders.id) == "disclosure-\(id)" })
            }
            let withheldCopy = try copy("w")
            let publishedCopy = try copy("p")
            #expect(withheldCopy.record.headerText(BridgeHeaders.internalSubject) == knownFodselsnummer)
            let before = try await store.storedOutboxContent()
            #expect(before.contains { $0.sequence == withheldCopy.sequence && $0.headers.contains(knownFodselsnummer) })

            try await store.markWithheld(sequence: withheldCopy.sequence, reasonCode: "consent-withdrawn")
            try await store.markPublished(sequences: [publishedCopy.sequence])
            let rows = try await store.storedOutboxContent()
            for sequence in [withheldCopy.sequence, publishedCopy.sequence] {
                let row = try #require(rows.first { $0.sequence == sequence })
                #expect(row.isErased, "a settled anonymous copy's row keeps its content or its person")
                #expect(!row.headers.contains(knownFodselsnummer))
            }
            let withheldRow = try #require(rows.first { $0.sequence == withheldCopy.sequence })
            #expect(withheldRow.headers.contains("disclosure-w"), "the copy's id is kept")
            #expect(try await store.withheldDisclosureIDs() == ["disclosure-w"])
            #expect(
                try await store.pendingOutbox(limit: 20).contains { $0.messageID == "named" },
                "premise: a row below the copies is still pending")
            await store.close()
        }
    }

    @Test(
        "R2: an anonymous forward keeps no person link: no subject, consent or case reference beside it; its notice is erased once settled",
        arguments: TestEngine.available)
    func R2_anonymousForwardKeepsNoPersonLink(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await BridgeStore.open(try await scratch.make("anonymous"), logger: ScratchLocations.logger)
            var message = Fixtures.message("anon", offset: 0)
            message.decision.outcome = .forwardAnonymous
            message.disclosures[0].form = "anonymous"
            message.disclosures[0].caseReference = "case-7f3a"
            message.outbox = [
                OutboxRecord(
                    topic: "nav.ips.inbound", key: Array("case-7f3a".utf8), headers: [],
                    payload: Array(#"{"caseReference":"case-7f3a"}"#.utf8)),
                OutboxRecord(
                    topic: "health.ips.disclosures", key: Array(knownFodselsnummer.utf8), headers: [],
                    payload: Array(
                        #"{"subjectId":"\#(knownFodselsnummer)","caseReference":"case-7f3a","form":"anonymous"}"#.utf8),
                    isErasedOnceSettled: true),
            ]
            let recorded = try await store.record(
                BridgeBatch(messages: [message, Fixtures.message("named", offset: 1)], offsets: []))
            // Until it is handed over, the notice is there for the relay to publish.
            let pending = try await store.pendingOutbox(limit: 10)
            #expect(pending.map(\.record) == recorded.outbox.map(\.record))
            #expect(pending[1].record.payload.isEmpty == false && pending[1].record.isErasedOnceSettled)

            // The notice is settled before the copy ahead of it (the mark cannot pass it yet):
            // it is erased all the same, at once.
            try await store.markPublished(sequences: [recorded.outbox[1].sequence])
            let rows = try await store.storedOutboxContent()
            #expect(
                rows[1].isErased,
                "the settled notice still ties the case reference to the person")
            #expect(rows[0].payload.isEmpty == false && rows[2].payload.isEmpty == false, "a pending row is erased")
            try await store.markPublished(sequences: recorded.outbox.map(\.sequence))
            #expect(
                try await store.storedOutboxContent().allSatisfy(\.isErased),
                "R9: a settled row still holds a copy's content")
            // The anonymous disclosure is recorded, but not under the person or the consent.
            #expect(
                try await store.disclosures(subjectID: knownFodselsnummer).map(\.disclosureID) == ["disclosure-named"])
            let anonymous = try await store.database.read { sql in
                try await sql.raw("SELECT * FROM anonymous_disclosures").all().map {
                    try $0.decode(column: "disclosure_id", as: String.self)
                }
            }
            #expect(anonymous == ["disclosure-anon"])
            let decision = try #require(try await store.decision(messageID: "anon"))
            #expect(decision.consentID == nil && decision.consentVersion == nil)
            #expect(try await store.decision(messageID: "named")?.consentID == "consent-1")
            await store.close()
        }
    }

    @Test(
        "Relay: outbox rows come out in order; withheld disclosures are recorded beside, not changed",
        arguments: TestEngine.available)
    func outboxLifecycle(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await BridgeStore.open(try await scratch.make("outbox"), logger: ScratchLocations.logger)
            let messages = (0..<5).map { Fixtures.message("o\($0)", offset: Int64($0)) }
            let recorded = try await store.record(BridgeBatch(messages: messages, offsets: [Fixtures.offset(5)]))
            let pending = try await store.pendingOutbox(limit: 10)
            // What `record` hands the relay is exactly what the relay would read back.
            #expect(recorded.outbox.map(\.sequence) == pending.map(\.sequence))
            #expect(recorded.outbox.map(\.record) == pending.map(\.record))
            #expect(recorded.outbox.map(\.messageID) == pending.map(\.messageID))
            #expect(pending.map(\.messageID) == ["o0", "o1", "o2", "o3", "o4"])
            #expect(pending.map(\.sequence) == pending.map(\.sequence).sorted())
            #expect(pending[0].record == messages[0].outbox[0])
            try await store.markPublished(sequences: [pending[0].sequence, pending[1].sequence])
            try await store.markWithheld(sequence: pending[2].sequence, reasonCode: "consent-withdrawn")
            #expect(try await store.pendingOutbox(limit: 10).map(\.messageID) == ["o3", "o4"])
            #expect(try await store.withheldDisclosureIDs() == ["disclosure-o2"])
            #expect(try await store.disclosures(subjectID: knownFodselsnummer).count == 5)
            await store.close()
        }
    }

    @Test(
        "Relay: rows settled out of order are neither lost nor settled twice; withheld rows keep their status",
        arguments: TestEngine.available)
    func outboxSettlesOutOfOrder(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await BridgeStore.open(try await scratch.make("settle"), logger: ScratchLocations.logger)
            let messages = (0..<8).map { Fixtures.message("s\($0)", offset: Int64($0)) }
            _ = try await store.record(BridgeBatch(messages: messages, offsets: []))
            let sequences = try await store.pendingOutbox(limit: 20).map(\.sequence)
            #expect(sequences.count == 8)
            func statuses() async throws -> [String] {
                try await store.database.read { sql in
                    try await sql.raw("SELECT status FROM outbox_status ORDER BY seq").all().map {
                        try $0.decode(column: "status", as: String.self)
                    }
                }
            }
            func explicitRows() async throws -> Int {
                try await store.database.read { sql in
                    try await sql.raw("SELECT COUNT(*) AS n FROM outbox_done").first().map {
                        try $0.decode(column: "n", as: Int.self)
                    } ?? -1
                }
            }
            // A later step's delivery reports settle first (say, a failure left rows 2 and 3 pending).
            try await store.markPublished(sequences: [sequences[4], sequences[5]])
            try await store.markPublished(sequences: [sequences[0], sequences[1]])
            try await store.markWithheld(sequence: sequences[3], reasonCode: "consent-withdrawn")
            #expect(
                try await statuses() == [
                    "published", "published", "pending", "withheld", "published", "published", "pending", "pending",
                ])
            #expect(
                try await store.pendingOutbox(limit: 20).map(\.sequence) == [sequences[2], sequences[6], sequences[7]])
            #expect(try await store.pendingOutboxCount() == 3)
            #expect(try await store.pendingOutboxCount(limit: 2) == 2)
            // The gap closes: the mark passes the rows settled above it, which are not settled again.
            try await store.markPublished(sequences: [sequences[2], sequences[4], sequences[6]])
            try await store.markWithheld(sequence: sequences[2], reasonCode: "consent-withdrawn")
            #expect(
                try await statuses() == [
                    "published", "published", "published", "withheld", "published", "published", "published", "pending",
                ])
            #expect(try await store.pendingOutbox(limit: 20).map(\.sequence) == [sequences[7]])
            try await store.markPublished(sequences: [sequences[7]])
            #expect(try await store.pendingOutbox(limit: 20).isEmpty)
            #expect(try await store.pendingOutboxCount() == 0)
            #expect(try await store.withheldDisclosureIDs() == ["disclosure-s3"])
            // In order, settling writes no row per outbox row: only the withheld row and the
            // two settled while row 2 was pending are explicit.
            #expect(try await explicitRows() == 3)
            await store.close()
        }
    }

    @Test(
        "Consent view: a lower version never overwrites a higher one; removals and offsets persist",
        arguments: TestEngine.available)
    func consentViewPersistence(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await BridgeStore.open(
                try await scratch.make("consentview"), logger: ScratchLocations.logger)
            let offsets = [
                ConsumerOffset(consumerGroup: "consent-view", topic: "health.consent", partition: 0, nextOffset: 3)
            ]
            try await store.saveConsentView(
                upserts: [
                    ConsentViewEntry(subjectKey: "p1", consentID: "c1", version: 3, document: [1]),
                    ConsentViewEntry(subjectKey: "p2", consentID: "c2", version: 1, document: [2]),
                ],
                removals: [], offsets: offsets)
            try await store.saveConsentView(
                upserts: [ConsentViewEntry(subjectKey: "p1", consentID: "c1", version: 2, document: [9])],
                removals: ["p2"],
                offsets: [
                    ConsumerOffset(consumerGroup: "consent-view", topic: "health.consent", partition: 0, nextOffset: 5)
                ])
            var entries: [ConsentViewEntry] = []
            let offsetsLoaded = try await store.loadConsentView(consumerGroup: "consent-view", pageSize: 1) {
                entries += $0
            }
            #expect(entries == [ConsentViewEntry(subjectKey: "p1", consentID: "c1", version: 3, document: [1])])
            #expect(offsetsLoaded.map(\.nextOffset) == [5])
            await store.close()
        }
    }

    @Test(
        "Outbox headers keep any name and bytes (nil, empty, binary, non-ASCII); rows in the older JSON form stay readable",
        arguments: TestEngine.available)
    func outboxHeadersRoundTrip(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await BridgeStore.open(try await scratch.make("headers"), logger: ScratchLocations.logger)
            var message = Fixtures.message("h1", offset: 0)
            let headers = [
                MessageHeader(name: "ce_id", text: "h1"), MessageHeader(name: "absent", value: nil),
                MessageHeader(name: "empty", value: []),
                MessageHeader(name: "binary", value: Array(0...255)),
                MessageHeader(name: "navn-æøå,:=", text: "verdi,med:skilletegn"),
            ]
            message.outbox[0].headers = headers
            _ = try await store.record(BridgeBatch(messages: [message], offsets: []))
            // A row written by an older version (headers as a JSON array), pending at an upgrade.
            try await store.database.transaction { sql in
                try await sql.raw(
                    """
                    INSERT INTO outbox (message_id, topic, headers, payload, created_at)
                    VALUES ('h1', 'nav.ips.inbound', '[{"name":"ce_id","value":"bGVnYWN5"},{"name":"gone"}]', \(bind: Data([1])), '2026-01-01T00:00:00.000Z')
                    """
                ).run()
            }
            let pending = try await store.pendingOutbox(limit: 10)
            #expect(pending.count == 2)
            #expect(pending.first?.record.headers == headers)
            #expect(
                pending.last?.record.headers == [
                    MessageHeader(name: "ce_id", text: "legacy"), MessageHeader(name: "gone", value: nil),
                ])
            await store.close()
        }
    }

    @Test(
        "Redrive: a rejection is found with its decision; it is let through at most once, and that record cannot change",
        arguments: TestEngine.available)
    func redriveIsRecordedOnce(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await BridgeStore.open(try await scratch.make("redrive"), logger: ScratchLocations.logger)
            var rejected = Fixtures.message("r1", offset: 0, outcome: .reject)
            rejected.rejection?.ceTime = "2026-06-01T10:00:00Z"
            _ = try await store.record(BridgeBatch(messages: [rejected], offsets: []))
            #expect(try await store.storedRejection(messageID: "nope") == nil)
            let stored = try #require(try await store.storedRejection(messageID: "r1"))
            #expect(stored.rejection == rejected.rejection)
            #expect(stored.decision.sourceTopic == "health.ips.outbound" && stored.decision.offset == 0)
            #expect(stored.redrivenOutcome == nil)

            // The redrive's rows: the forwarded form of the same message id.
            let forward = Fixtures.message("r1", offset: 0)
            let rows = try #require(try await store.recordRedrive(forward))
            #expect(rows.map(\.record) == forward.outbox)
            #expect(try await store.recordRedrive(forward) == nil, "a second redrive writes nothing")
            #expect(try await store.storedRejection(messageID: "r1")?.redrivenOutcome == .forward)
            #expect(try await store.pendingOutbox(limit: 10).map(\.sequence).suffix(1) == rows.map(\.sequence))
            #expect(try await store.disclosures(subjectID: knownFodselsnummer).count == 1)
            await #expect(throws: StorageError.self) {
                try await store.database.transaction { sql in
                    try await sql.raw("UPDATE redrives SET outcome = 'forward-anonymous'").run()
                }
            }
            await #expect(throws: StorageError.self) { _ = try await store.recordRedrive(rejected) }
            await store.close()
        }
    }

    /// Two systems may use the same `ce_id` (CloudEvents identifies an event by source and id):
    /// a message whose id another topic's event holds is recorded under its alternative id in
    /// the batch's own transaction; one whose id its own topic's event holds is that event again.
    @Test(
        "A reused id of another topic is recorded under its alternative id, in the batch's transaction; the same topic's is skipped",
        arguments: TestEngine.available)
    func reusedIDOfAnotherTopicIsRecordedUnderItsAlternativeID(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await BridgeStore.open(try await scratch.make("reused"), logger: ScratchLocations.logger)
            let nav = "nav.followup.outbound"
            @Sendable func message(_ id: String, topic: String, offset: Int64) -> BridgeMessageRecord {
                var message = Fixtures.message(id, offset: offset)
                message.decision.sourceTopic = topic
                return message
            }
            @Sendable func alternativeID(_ message: BridgeMessageRecord) -> String {
                "kafka:\(message.decision.sourceTopic):id:\(message.decision.messageID)"
            }
            let calls = Calls()
            func alternative(_ messages: [BridgeMessageRecord], failing: Bool = false) -> BridgeStore.AlternativeRecord
            {
                { position in
                    calls.positions.withLock { $0.append(position) }
                    if failing { throw StorageError(.invalidBatch, "test: no alternative") }
                    let original = messages[position]
                    return message(
                        alternativeID(original), topic: original.decision.sourceTopic, offset: original.decision.offset)
                }
            }
            let navOffset = ConsumerOffset(consumerGroup: "bridge", topic: nav, partition: 0, nextOffset: 1)
            _ = try await store.record(
                BridgeBatch(
                    messages: [message("x", topic: "health.ips.outbound", offset: 0)],
                    offsets: [
                        Fixtures.offset(1)
                    ]))

            // NAV's x (another system), a new y, and EPJ's x again (a retry).
            let batch = [
                message("x", topic: nav, offset: 0), message("y", topic: "health.ips.outbound", offset: 1),
                message("x", topic: "health.ips.outbound", offset: 2),
            ]
            let offsets = [Fixtures.offset(3), navOffset]
            // If building the alternative fails, nothing of the batch is recorded: not y, not the offsets.
            await #expect(throws: StorageError.self) {
                _ = try await store.record(
                    BridgeBatch(messages: batch, offsets: offsets), alternative: alternative(batch, failing: true))
            }
            #expect(try await store.hasRecorded(messageID: "y") == false)
            #expect(try await store.offsets(consumerGroup: "bridge") == [Fixtures.offset(1)])

            calls.positions.withLock { $0 = [] }
            let recorded = try await store.record(
                BridgeBatch(messages: batch, offsets: offsets), alternative: alternative(batch))
            #expect(calls.positions.withLock { $0 } == [0], "only the other topic's message is built again")
            #expect(recorded.recordedMessageIDs == ["kafka:\(nav):id:x", "y"])
            #expect(recorded.duplicateMessageIDs == ["x"] && recorded.skippedPositions == [2])
            #expect(recorded.alternates.map(\.position) == [0] && recorded.alternates.map(\.messageID) == ["x"])
            #expect(recorded.alternates.first?.recordedAs.messageID == "kafka:\(nav):id:x")
            // In batch order for the relay: the alternate's row first.
            #expect(recorded.outbox.map(\.messageID) == ["kafka:\(nav):id:x", "y"])
            let alternate = try #require(try await store.decision(messageID: "kafka:\(nav):id:x"))
            #expect(alternate.sourceTopic == nav && alternate.offset == 0)
            #expect(try await store.decision(messageID: "x")?.sourceTopic == "health.ips.outbound")
            #expect(Set(try await store.offsets(consumerGroup: "bridge")) == Set(offsets))
            #expect(try await Self.counts(store) == Counts(decisions: 3, disclosures: 3, outbox: 3, rejections: 0))

            // Redelivered (a crash, a hand-over): its alternative id is recorded, so nothing is.
            let again = try await store.record(
                BridgeBatch(messages: batch, offsets: offsets), alternative: alternative(batch))
            #expect(again.recordedMessageIDs.isEmpty && again.alternates.isEmpty)
            #expect(again.skippedPositions == [0, 1, 2])
            #expect(try await Self.counts(store) == Counts(decisions: 3, disclosures: 3, outbox: 3, rejections: 0))

            // Within one batch: the first z holds the id, the other topic's z gets its alternative
            // id, and a second copy of that one is the same event.
            let inBatch = [
                message("z", topic: "health.ips.outbound", offset: 3), message("z", topic: nav, offset: 1),
                message("z", topic: nav, offset: 2),
            ]
            let both = try await store.record(
                BridgeBatch(messages: inBatch, offsets: []), alternative: alternative(inBatch))
            #expect(both.recordedMessageIDs == ["z", "kafka:\(nav):id:z"])
            #expect(both.skippedPositions == [2])
            // Without a way to build it again, a reused id is skipped as before.
            let plain = try await store.record(
                BridgeBatch(
                    messages: [message("w", topic: nav, offset: 9), message("w", topic: "t", offset: 9)], offsets: []))
            #expect(plain.recordedMessageIDs == ["w"] && plain.skippedPositions == [1])
            await store.close()
        }
    }

    struct Counts: Equatable {
        var decisions: Int
        var disclosures: Int
        var outbox: Int
        var rejections: Int
    }

    static func counts(_ store: BridgeStore) async throws -> Counts {
        try await store.database.read { sql in
            func count(_ table: String) async throws -> Int {
                Int(
                    try await sql.raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table)").first()?.decode(
                        column: "n", as: Int64.self) ?? -1)
            }
            return Counts(
                decisions: try await count("decisions"), disclosures: try await count("disclosures"),
                outbox: try await count("outbox"), rejections: try await count("rejections"))
        }
    }
}

/// The positions an alternative record was asked for.
private final class Calls: Sendable {
    let positions = Mutex<[Int]>([])
}
