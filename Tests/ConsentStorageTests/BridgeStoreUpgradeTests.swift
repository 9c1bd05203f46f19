import ConsentBridgeTesting
import ConsentConfiguration
import ConsentContracts
import Foundation
import SQLKit
import Testing

@testable import ConsentStorage

/// Upgrading a bridge store that already holds data (migrations 2 → 4, 5 → 6, 8 → 9, 11 → 12, 12 → 13, 13 → 14, 14 → 15).
@Suite("Bridge store upgrade")
struct BridgeStoreUpgradeTests {
    /// Writes a bridge store at `location` as migration `version` left it, holding what `fill`
    /// writes (in one transaction), and closes it: the store an upgrade starts from.
    private static func writeStore(
        at location: StoreLocation, asVersion version: Int, _ fill: (any SQLDatabase) async throws -> Void
    ) async throws {
        let old = try await StoreDatabase.open(location, logger: ScratchLocations.logger)
        try await Migrator.migrate(
            old, kind: .bridge, migrations: Array(BridgeStore.migrations.prefix(version)),
            logger: ScratchLocations.logger)
        try await old.transaction(fill)
        await old.close()
    }

    /// Version 11 rewrites SQLite's CHECKs of three or more values as comparisons (in place, in
    /// `sqlite_schema`): the rows stay, the file stays whole, and the checks still refuse what
    /// they refused.
    @Test(
        "Checks compared in place: a filled store upgrades whole, and every rewritten check still refuses an unknown value",
        arguments: TestEngine.available)
    func checksComparedInPlace(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let location = try await scratch.make("checks")
            try await Self.writeStore(at: location, asVersion: 10) { sql in
                try await sql.raw(Fixtures.decisionRow("m")).run()
            }
            let store = try await BridgeStore.open(location, logger: ScratchLocations.logger)
            if engine == .sqlite {
                let definitions = try await store.database.read { sql in
                    try await sql.raw(
                        "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name IN ('decisions', 'outbox', 'outbox_done')"
                    ).all().map { try $0.decode(column: "sql", as: String.self) }.joined(separator: "\n")
                }
                #expect(
                    definitions.contains("outcome = 'forward' OR outcome = 'forward-anonymous' OR outcome = 'reject'"))
                #expect(definitions.contains("follower2_derived = 'receipt' OR"))
                #expect(!definitions.contains(" IN ('"))
                let check = try await store.database.read { sql in
                    try await sql.raw("PRAGMA integrity_check").all().map {
                        try $0.decode(column: "integrity_check", as: String.self)
                    }
                }
                #expect(check == ["ok"])
            }
            func run(_ statement: SQLQueryString) async throws {
                try await store.database.transaction { sql in try await sql.raw(statement).run() }
            }
            func outbox(_ column: String, _ value: String) -> SQLQueryString {
                """
                INSERT INTO outbox (message_id, topic, headers, payload, created_at, \(unsafeRaw: column)) \
                VALUES ('m', 'nav.ips.inbound', '', \(bind: Data()), '2026-01-02T00:00:00.000Z', \(bind: value))
                """
            }
            await #expect(throws: StorageError.self) {
                try await run(Fixtures.decisionRow("x", outcome: "forwarded", offset: 1))
            }
            for column in ["derived", "follower1_derived", "follower2_derived"] {
                await #expect(throws: StorageError.self, "\(column)") { try await run(outbox(column, "receipts")) }
            }
            await #expect(throws: StorageError.self) {
                try await run(
                    "INSERT INTO outbox_done (seq, status, status_at) VALUES (99, 'sent', '2026-01-02T00:00:00.000Z')")
            }
            // What the checks allow still goes in, beside the row written before the upgrade.
            try await run(Fixtures.decisionRow("y", outcome: "forward-anonymous", offset: 1))
            try await run(outbox("follower1_derived", "notice-without-consent"))
            try await run(
                "INSERT INTO outbox_done (seq, status, status_at) VALUES (99, 'failed', '2026-01-02T00:00:00.000Z')")
            let decisions = try await store.database.read { sql in
                try await sql.raw("SELECT message_id FROM decisions ORDER BY message_id").all().map {
                    try $0.decode(column: "message_id", as: String.self)
                }
            }
            #expect(decisions == ["m", "y"])
            await store.close()
        }
    }

    @Test(
        "Outbox status moves beside the rows: pending stays pending, published and withheld keep status and time",
        arguments: TestEngine.available)
    func outboxStatusSurvivesTheUpgrade(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let location = try await scratch.make("upgrade")
            // A store as version 2 left it, with one row in each status.
            try await Self.writeStore(at: location, asVersion: 2) { sql in
                try await sql.raw(Fixtures.decisionRow("m")).run()
                for (status, at, reason) in [
                    ("published", "'2026-01-02T00:00:00.000Z'", "NULL"), ("pending", "NULL", "NULL"),
                    ("withheld", "'2026-01-03T00:00:00.000Z'", "'consent-withdrawn'"),
                ] {
                    try await sql.raw(
                        """
                        INSERT INTO outbox (message_id, topic, headers, payload, created_at, status, status_at, status_reason)
                        VALUES ('m', 'nav.ips.inbound', 'h1:', \(bind: Data([1])), '2026-01-01T00:00:00.000Z', \(bind: status), \(unsafeRaw: at), \(unsafeRaw: reason))
                        """
                    ).run()
                }
            }

            let store = try await BridgeStore.open(location, logger: ScratchLocations.logger)
            #expect(try await store.pendingOutbox(limit: 10).map(\.sequence) == [2])
            let done = try await store.database.read { sql in
                try await sql.raw("SELECT seq, status, status_at, status_reason FROM outbox_done ORDER BY seq").all()
                    .map {
                        [
                            String(try $0.decode(column: "seq", as: Int64.self)),
                            try $0.decode(column: "status", as: String.self),
                            try $0.decode(column: "status_at", as: String.self),
                            try $0.decode(column: "status_reason", as: String?.self) ?? "-",
                        ]
                    }
            }
            #expect(
                done == [
                    ["1", "published", "2026-01-02T00:00:00.000Z", "-"],
                    ["3", "withheld", "2026-01-03T00:00:00.000Z", "consent-withdrawn"],
                ])
            // And the relay's path works on the upgraded store.
            try await store.markPublished(sequences: [2, 3])
            #expect(try await store.pendingOutbox(limit: 10).isEmpty)
            let statuses = try await store.database.read { sql in
                try await sql.raw("SELECT status FROM outbox_status ORDER BY seq").all().map {
                    try $0.decode(column: "status", as: String.self)
                }
            }
            #expect(statuses == ["published", "published", "withheld"], "a settled row is never settled again")
            await store.close()
        }
    }

    /// Version 12 erases a row's payload and key once its records are all settled. A notice
    /// stored before version 9 in a row of its own is built from its copy's payload when
    /// relayed: rows are erased only once the mark has passed it.
    @Test(
        "Settled rows' content erased: rows kept from before are erased as the relay settles, not while an older notice row still builds from its copy",
        arguments: TestEngine.available)
    func contentErasedAfterUpgrade(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let location = try await scratch.make("upgrade12")
            let disclosure = Fixtures.disclosure("d", subject: knownFodselsnummer)
            // Row 1: a copy published long ago; row 2 a copy and row 3 its notice, in a row of
            // its own as version 8 stored it, both pending; row 4 a pending copy.
            try await Self.writeStore(at: location, asVersion: 11) { sql in
                try await sql.raw(Fixtures.decisionRow("m")).run()
                try await sql.insert(into: "disclosures").columns(MessageRows.disclosureColumns)
                    .values(try StoreSQL.disclosureValues(disclosure) + [SQLBind("m")]).run()
                let copyHeaders = OutboxHeaderCodec.encode([
                    MessageHeader(
                        name: BridgeHeaders.policyVersion, text: "sha256:\(String(repeating: "ab", count: 32))")
                ])
                let noticeHeaders = OutboxHeaderCodec.encode([
                    MessageHeader(name: BridgeHeaders.id, text: "notice-d"),
                    MessageHeader(name: BridgeHeaders.internalFollows, text: disclosure.disclosureID),
                ])
                let rows: [(String?, String, String, String?)] = [
                    (nil, "nav.ips.inbound", copyHeaders, #"{"eventId":"old"}"#),
                    (disclosure.disclosureID, "nav.ips.inbound", copyHeaders, #"{"eventId":"event-d"}"#),
                    (nil, "health.disclosures", noticeHeaders, nil),
                    (nil, "nav.ips.inbound", copyHeaders, #"{"eventId":"later"}"#),
                ]
                for (disclosureID, topic, headers, payload) in rows {
                    try await sql.raw(
                        """
                        INSERT INTO outbox (message_id, disclosure_id, topic, kafka_key, headers, payload, created_at, derived)
                        VALUES ('m', \(bind: disclosureID), \(bind: topic), \(bind: Data(knownFodselsnummer.utf8)), \(bind: headers),
                            \(bind: Data((payload ?? "").utf8)), '2026-01-01T00:00:00.000Z', \(bind: payload == nil ? "notice" : nil))
                        """
                    ).run()
                }
                try await sql.raw("UPDATE outbox_progress SET settled_through = 1 WHERE id = 1").run()
            }

            let store = try await BridgeStore.open(location, logger: ScratchLocations.logger)
            func kept() async throws -> [Int64] {
                try await store.storedOutboxContent().filter { !$0.isErased }.map(\.sequence)
            }
            #expect(try await kept() == [1, 2, 3, 4], "the upgrade itself erases nothing")
            // The mark passes the notice's copy, not the notice: nothing is erased yet.
            try await store.markPublished(sequences: [2])
            #expect(try await kept() == [1, 2, 3, 4])
            let pending = try await store.pendingOutbox(limit: 10)
            #expect(pending.map(\.sequence) == [3, 4])
            guard case .object(let notice) = try StrictJSON.parse(pending[0].record.payload) else {
                Issue.record("the notice built from its copy is not a JSON object")
                return
            }
            #expect(notice["disclosureId"] == .string(disclosure.disclosureID))
            // Once the mark has passed the notice, every settled row is erased, old ones too.
            try await store.markPublished(sequences: [3, 4])
            #expect(try await kept().isEmpty)
            await store.close()
        }
    }

    @Test(
        "Derived records move into their copy's row: rows stored before keep their numbers and statuses; a copy's notice and receipt are records of its row, read, paged and settled one by one",
        arguments: TestEngine.available)
    func followersRideInTheirCopysRow(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let location = try await scratch.make("upgrade9")
            // A store as version 8 left it: row 1 published (below the mark), 2 and 4 pending,
            // 3 withheld.
            try await Self.writeStore(at: location, asVersion: 8) { sql in
                try await sql.raw(Fixtures.decisionRow("m")).run()
                for _ in 1...4 {
                    try await sql.raw(
                        """
                        INSERT INTO outbox (message_id, topic, headers, payload, created_at)
                        VALUES ('m', 'nav.ips.inbound', 'h1:', \(bind: Data([1])), '2026-01-01T00:00:00.000Z')
                        """
                    ).run()
                }
                try await sql.raw("UPDATE outbox_progress SET settled_through = 1 WHERE id = 1").run()
                try await sql.raw(
                    """
                    INSERT INTO outbox_done (seq, status, status_at, status_reason)
                    VALUES (3, 'withheld', '2026-01-02T00:00:00.000Z', 'consent-withdrawn')
                    """
                ).run()
            }

            let store = try await BridgeStore.open(location, logger: ScratchLocations.logger)
            func pending(after: Int64 = 0, limit: Int = 100) async throws -> [Int64] {
                try await store.pendingOutbox(after: after, limit: limit, derivingPayloads: false).map(\.sequence)
            }
            #expect(try await pending() == [2, 4])
            // A copy with its notice and the receipt: one row, three records numbered after the old rows.
            var message = Fixtures.message("n", offset: 1)
            let copy = message.outbox[0]
            for (topic, derivation) in [
                ("health.ips.disclosures", OutboxPayloadDerivation.notice), ("health.ips.receipts", .receipt),
            ] {
                message.outbox.append(
                    OutboxRecord(
                        topic: topic, key: Array("n".utf8), headers: [MessageHeader(name: "ce_id", text: topic)],
                        payload: Array("{}".utf8), derivation: derivation))
            }
            let recorded = try await store.record(BridgeBatch(messages: [message], offsets: []))
            #expect(recorded.outbox.map(\.sequence) == [5, 6, 7])
            let rows = try await store.database.read { sql in
                try await sql.raw("SELECT seq, records FROM outbox ORDER BY seq").all().map {
                    [try $0.decode(column: "seq", as: Int64.self), try $0.decode(column: "records", as: Int64.self)]
                }
            }
            #expect(rows == [[1, 1], [2, 1], [3, 1], [4, 1], [5, 3]])
            #expect(try await store.pendingOutboxCount() == 5, "the backlog counts records")
            let read = try await store.pendingOutbox(after: 4, limit: 10, derivingPayloads: false)
            #expect(read.map(\.record.topic) == [copy.topic, "health.ips.disclosures", "health.ips.receipts"])
            #expect(read.map(\.record.derivation) == [nil, .notice, .receipt])
            #expect(read.map(\.record.disclosureID) == [copy.disclosureID, nil, nil])
            #expect(read[0].record == copy)
            #expect(read[1].record.headers == [MessageHeader(name: "ce_id", text: "health.ips.disclosures")])
            // Pages end and start inside a row.
            #expect(try await pending(limit: 3) == [2, 4, 5])
            #expect(try await pending(after: 5) == [6, 7])
            #expect(try await pending(after: 6) == [7])
            // Each record is settled on its own: the notice withheld, the others published.
            try await store.markPublished(sequences: [2, 5])
            #expect(try await pending() == [4, 6, 7])
            try await store.markWithheld(sequence: 6, reasonCode: "consent-withdrawn")
            try await store.markPublished(sequences: [4, 7])
            #expect(try await pending().isEmpty)
            #expect(try await store.withheldDisclosureIDs().isEmpty, "the notice's withholding is not its copy's")
            let statuses = try await store.database.read { sql in
                try await sql.raw("SELECT status FROM outbox_status ORDER BY seq").all().map {
                    try $0.decode(column: "status", as: String.self)
                }
            }
            #expect(
                statuses == ["published", "published", "withheld", "published", "published", "withheld", "published"])
            #expect(try await store.pendingOutboxCount() == 0)
            await store.close()
        }
    }

    @Test(
        "R2: upgrading drops the person link of earlier anonymous forwards (disclosure, decision, redrive, settled notice)",
        arguments: TestEngine.available)
    func R2_upgradeDropsAnonymousPersonLinks(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let location = try await scratch.make("upgrade6")
            let time = "'2026-01-01T00:00:00.000Z'"
            let anonymous = Fixtures.disclosure("anon", subject: knownFodselsnummer, caseReference: "case-7f3a")
            let named = Fixtures.disclosure("named", subject: knownFodselsnummer)
            try await Self.writeStore(at: location, asVersion: 5) { sql in
                for (id, outcome) in [("anon", "forward-anonymous"), ("named", "forward"), ("redriven", "reject")] {
                    try await sql.raw(
                        """
                        INSERT INTO decisions (message_id, source_topic, partition_id, source_offset, outcome, consent_id, consent_version, bridge_version, decided_at)
                        VALUES (\(bind: id), 'health.ips.outbound', 0, 0, \(bind: outcome), 'consent-1', 2, 'v', \(unsafeRaw: time))
                        """
                    ).run()
                }
                for (record, message) in [(anonymous, "anon"), (named, "named")] {
                    try await sql.insert(into: "disclosures").columns(MessageRows.disclosureColumns)
                        .values(try StoreSQL.disclosureValues(record) + [SQLBind(message)]).run()
                }
                try await sql.raw(
                    """
                    INSERT INTO rejections (message_id, reason_code, received_at) VALUES ('redriven', 'no-consent', \(unsafeRaw: time))
                    """
                ).run()
                try await sql.raw(
                    """
                    INSERT INTO redrives (message_id, outcome, consent_id, consent_version, redriven_at)
                    VALUES ('redriven', 'forward-anonymous', 'consent-1', 2, \(unsafeRaw: time))
                    """
                ).run()
                let notice = Data(
                    #"{"subjectId":"\#(knownFodselsnummer)","form":"anonymous","caseReference":"case-7f3a"}"#.utf8)
                for (payload, message) in [
                    (notice, "anon"), (notice, "anon"), (Data(#"{"form":"identified"}"#.utf8), "named"),
                ] {
                    try await sql.raw(
                        """
                        INSERT INTO outbox (message_id, topic, kafka_key, headers, payload, created_at)
                        VALUES (\(bind: message), 'health.ips.disclosures', \(bind: Data(knownFodselsnummer.utf8)), \(bind: OutboxHeaderCodec.encode([])), \(bind: payload), \(unsafeRaw: time))
                        """
                    ).run()
                }
                // The first notice was published; the second is still pending.
                try await sql.raw("UPDATE outbox_progress SET settled_through = 1").run()
            }

            let store = try await BridgeStore.open(location, logger: ScratchLocations.logger)
            let payloads = try await store.database.read { sql in
                try await sql.raw("SELECT payload FROM outbox ORDER BY seq").all().map {
                    try $0.decode(column: "payload", as: Data.self)
                }
            }
            #expect(payloads[0].isEmpty, "a published notice of an anonymous forward survives the upgrade")
            #expect(
                !payloads[1].isEmpty && !payloads[2].isEmpty, "only settled notices of anonymous forwards are erased")
            let pending = try await store.pendingOutbox(limit: 10)
            #expect(pending.map(\.record.isErasedOnceSettled) == [true, false])
            try await store.markPublished(sequences: pending.map(\.sequence))
            let afterPublish = try await store.database.read { sql in
                try await sql.raw("SELECT payload FROM outbox WHERE seq = 2").first().map {
                    try $0.decode(column: "payload", as: Data.self)
                }
            }
            #expect(afterPublish?.isEmpty == true)

            #expect(
                try await store.disclosures(subjectID: knownFodselsnummer).map(\.disclosureID) == ["disclosure-named"])
            let (moved, redriveConsent) = try await store.database.read { sql in
                (
                    try await sql.raw("SELECT disclosure_id FROM anonymous_disclosures").all().map {
                        try $0.decode(column: "disclosure_id", as: String.self)
                    },
                    try await sql.raw("SELECT consent_id FROM redrives").first().map {
                        try $0.decode(column: "consent_id", as: String?.self)
                    }
                )
            }
            #expect(moved == ["disclosure-anon"])
            #expect(redriveConsent == .some(nil))
            #expect(try await store.decision(messageID: "anon")?.consentID == nil)
            #expect(try await store.decision(messageID: "named")?.consentID == "consent-1")
            // The corrected tables are append-only again.
            await #expect(throws: StorageError.self) {
                try await store.database.transaction { sql in try await sql.raw("DELETE FROM disclosures").run() }
            }
            await #expect(throws: StorageError.self) {
                try await store.database.transaction { sql in
                    try await sql.raw("UPDATE redrives SET consent_id = 'x'").run()
                }
            }
            await store.close()
        }
    }

    @Test(
        "Store version 13: rejections kept from before keep their sealed payloads until their retention ends",
        arguments: TestEngine.available)
    func sealedPayloadsExpireAfterUpgrade(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let location = try await scratch.make("sealed-retention")
            let old = "'2026-01-02T00:00:00.000Z'"
            let recent = "'2026-03-02T00:00:00.000Z'"
            try await Self.writeStore(at: location, asVersion: 12) { sql in
                for (offset, (id, time)) in [("old", old), ("recent", recent)].enumerated() {
                    try await sql.raw(Fixtures.decisionRow(id, outcome: "reject", offset: Int64(offset))).run()
                    try await sql.raw(
                        """
                        INSERT INTO rejections (message_id, ce_type, reason_code, sealed_payload, sealing_key_id, received_at)
                        VALUES (\(bind: id), 'no.ips.health.referral.v1', 'no-consent', \(bind: Data([1, 2, 3])), 'health-1', \(unsafeRaw: time))
                        """
                    ).run()
                }
            }
            let store = try await BridgeStore.open(location, logger: ScratchLocations.logger)
            #expect(try await store.storedRejection(messageID: "old")?.rejection.sealedPayload == [1, 2, 3])
            #expect(try await store.storedRejection(messageID: "old")?.sealedPayloadErasedAt == nil)
            let cutoff = try #require(StoreTime.date(from: "2026-02-01T00:00:00.000Z"))
            #expect(try await store.eraseSealedPayloads(receivedBefore: cutoff, limit: 10) == 1)
            #expect(try await store.storedRejection(messageID: "old")?.rejection.sealedPayload == nil)
            #expect(try await store.storedRejection(messageID: "old")?.sealedPayloadErasedAt != nil)
            #expect(try await store.storedRejection(messageID: "recent")?.rejection.sealedPayload == [1, 2, 3])
            await store.close()
        }
    }

    @Test(
        "Store version 14: a settled identified copy's stored headers lose the relay's re-check headers (the person, the categories), rows erased before included; what a receipt reads stays",
        arguments: TestEngine.available)
    func reCheckHeadersErasedAfterUpgrade(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let location = try await scratch.make("upgrade14")
            let kept = [
                MessageHeader(name: BridgeHeaders.id, text: "copy-1"),
                MessageHeader(name: BridgeHeaders.policyVersion, text: "sha256:\(String(repeating: "cd", count: 32))"),
            ]
            let reCheck = [
                MessageHeader(name: BridgeHeaders.internalSubject, text: knownFodselsnummer),
                MessageHeader(name: BridgeHeaders.internalCategories, text: "identity-and-contact,ips-participation"),
                MessageHeader(name: BridgeHeaders.internalDirection, text: "health-to-nav"),
            ]
            let stored = OutboxHeaderCodec.encode(kept + reCheck)
            // Row 1 settled and erased by version 12 (its headers kept whole); row 2 pending.
            try await Self.writeStore(at: location, asVersion: 13) { sql in
                try await sql.raw(Fixtures.decisionRow("m")).run()
                for payload in ["", #"{"eventId":"pending"}"#] {
                    try await sql.raw(
                        """
                        INSERT INTO outbox (message_id, topic, headers, payload, created_at)
                        VALUES ('m', 'nav.ips.inbound', \(bind: stored), \(bind: Data(payload.utf8)), '2026-01-01T00:00:00.000Z')
                        """
                    ).run()
                }
                try await sql.raw(
                    "UPDATE outbox_progress SET settled_through = 1, content_erased_through = 1 WHERE id = 1"
                ).run()
            }
            let store = try await BridgeStore.open(location, logger: ScratchLocations.logger)
            func headers() async throws -> [String] { try await store.storedOutboxContent().map(\.headers) }
            #expect(try await headers() == [stored, stored], "the upgrade itself changes no row")
            #expect(try await store.pendingOutbox(limit: 10).first?.record.headers == kept + reCheck)
            try await store.markPublished(sequences: [2])
            let after = try await headers()
            #expect(after.allSatisfy { !$0.contains(knownFodselsnummer) && !$0.contains("identity-and-contact") })
            #expect(try after.map { try OutboxHeaderCodec.decode($0) } == [kept, kept])
            #expect(try await store.storedOutboxContent().allSatisfy(\.isErased))
            await store.close()
        }
    }

    @Test(
        "Store version 15: rows whose headers are in the forms before h2 (base64, JSON) are written again in h2, the same headers; once settled they lose the re-check headers like every other row",
        arguments: TestEngine.available)
    func earlierHeaderFormsRewrittenOnUpgrade(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let location = try await scratch.make("upgrade15")
            let kept = [
                MessageHeader(name: BridgeHeaders.id, text: "copy-1"),
                MessageHeader(name: BridgeHeaders.type, text: "no.ips.health.referral.v1"),
            ]
            let reCheck = [
                MessageHeader(name: BridgeHeaders.internalSubject, text: knownFodselsnummer),
                MessageHeader(name: BridgeHeaders.internalCategories, text: "identity-and-contact,ips-participation"),
            ]
            let headers = kept + reCheck
            func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
            // The two earlier forms, as OutboxHeaderCodec's readers take them (their writers are gone).
            let h1 =
                "h1:"
                + headers.map { base64(Array($0.name.utf8)) + ":" + base64($0.value ?? []) }
                .joined(separator: ",")
            let json =
                "["
                + headers.map { #"{"name":"\#($0.name)","value":"\#(base64($0.value ?? []))"}"# }
                .joined(separator: ",") + "]"
            #expect(try OutboxHeaderCodec.decode(h1) == headers)
            #expect(try OutboxHeaderCodec.decode(json) == headers)
            // Row 1 (h1) settled and erased by version 12, its headers kept whole; row 2 (JSON)
            // and row 3 (h2) pending.
            try await Self.writeStore(at: location, asVersion: 14) { sql in
                try await sql.raw(Fixtures.decisionRow("m")).run()
                for (stored, payload) in [
                    (h1, ""), (json, #"{"eventId":"p1"}"#), (OutboxHeaderCodec.encode(headers), #"{"eventId":"p2"}"#),
                ] {
                    try await sql.raw(
                        """
                        INSERT INTO outbox (message_id, topic, headers, payload, created_at)
                        VALUES ('m', 'nav.ips.inbound', \(bind: stored), \(bind: Data(payload.utf8)), '2026-01-01T00:00:00.000Z')
                        """
                    ).run()
                }
                try await sql.raw(
                    "UPDATE outbox_progress SET settled_through = 1, content_erased_through = 1 WHERE id = 1"
                ).run()
            }
            let store = try await BridgeStore.open(location, logger: ScratchLocations.logger)
            func stored() async throws -> [String] { try await store.storedOutboxContent().map(\.headers) }
            let upgraded = try await stored()
            #expect(upgraded.allSatisfy { $0.hasPrefix(OutboxHeaderCodec.prefix) })
            #expect(try upgraded.map { try OutboxHeaderCodec.decode($0) } == [headers, headers, headers])
            #expect(try await store.pendingOutbox(limit: 10).map(\.record.headers) == [headers, headers])
            try await store.markPublished(sequences: [2, 3])
            let after = try await stored()
            #expect(after.allSatisfy { !$0.contains(knownFodselsnummer) && !$0.contains("identity-and-contact") })
            #expect(try after.map { try OutboxHeaderCodec.decode($0) } == [kept, kept, kept])
            #expect(try await store.storedOutboxContent().allSatisfy(\.isErased))
            await store.close()
        }
    }
}
