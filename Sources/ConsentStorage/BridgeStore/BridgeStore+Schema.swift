import SQLKit

extension BridgeStore {
    /// The bridge store's migrations; append new versions, never edit applied ones.
    static let migrations: [Migration] = [
        Migration(version: 1, name: "bridge store") { engine in
            [
                Migrator.consumerOffsetsTable,
                """
                CREATE TABLE consent_view (
                    subject_key TEXT PRIMARY KEY,
                    consent_id TEXT NOT NULL,
                    version BIGINT NOT NULL,
                    document \(engine.bytesType) NOT NULL,
                    updated_at TEXT NOT NULL)
                """,
                // One row per consumed message: the dedup key and its decision.
                """
                CREATE TABLE decisions (
                    message_id TEXT PRIMARY KEY,
                    source_topic TEXT NOT NULL,
                    partition_id INTEGER NOT NULL,
                    source_offset BIGINT NOT NULL,
                    ce_type TEXT,
                    outcome TEXT NOT NULL CHECK (outcome IN ('forward', 'forward-anonymous', 'reject')),
                    reason_code TEXT,
                    consent_id TEXT,
                    consent_version BIGINT,
                    bridge_version TEXT NOT NULL,
                    decided_at TEXT NOT NULL)
                """,
                """
                CREATE TABLE disclosures (
                    \(StoreSQL.disclosureColumnsDDL),
                    message_id TEXT NOT NULL REFERENCES decisions (message_id))
                """,
                "CREATE INDEX disclosures_subject ON disclosures (subject_id, disclosed_at)",
                // Append-only record that the relay withheld a disclosure (consent withdrawn
                // between decision and publishing): the disclosure row itself never changes.
                """
                CREATE TABLE disclosure_withholdings (
                    disclosure_id TEXT PRIMARY KEY REFERENCES disclosures (disclosure_id),
                    reason_code TEXT NOT NULL,
                    withheld_at TEXT NOT NULL)
                """,
                """
                CREATE TABLE outbox (
                    seq \(engine.serialPrimaryKey),
                    message_id TEXT NOT NULL REFERENCES decisions (message_id),
                    disclosure_id TEXT REFERENCES disclosures (disclosure_id),
                    topic TEXT NOT NULL,
                    kafka_key \(engine.bytesType),
                    headers TEXT NOT NULL,
                    payload \(engine.bytesType) NOT NULL,
                    created_at TEXT NOT NULL,
                    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'published', 'withheld')),
                    status_at TEXT,
                    status_reason TEXT)
                """,
                "CREATE INDEX outbox_by_status ON outbox (status, seq)",
                // Metadata only; the payload is sealed with the origin side's key.
                """
                CREATE TABLE rejections (
                    message_id TEXT PRIMARY KEY REFERENCES decisions (message_id),
                    ce_type TEXT,
                    ce_source TEXT,
                    reason_code TEXT NOT NULL,
                    sealed_payload \(engine.bytesType),
                    sealing_key_id TEXT,
                    received_at TEXT NOT NULL)
                """,
            ]
                + Migrator.appendOnly("disclosures", engine: engine)
                + Migrator.appendOnly("disclosure_withholdings", engine: engine)
        },
        Migration(version: 2, name: "redrive") { engine in
            [
                // A redrive decides again with the original event time (anonymous form's age band).
                "ALTER TABLE rejections ADD COLUMN ce_time TEXT",
                // A rejection an operator redrove and that the current consent let through; at
                // most one per message (the primary key), and never changed afterwards.
                """
                CREATE TABLE redrives (
                    message_id TEXT PRIMARY KEY REFERENCES rejections (message_id),
                    outcome TEXT NOT NULL CHECK (outcome IN ('forward', 'forward-anonymous')),
                    consent_id TEXT,
                    consent_version BIGINT,
                    redriven_at TEXT NOT NULL)
                """,
            ] + Migrator.appendOnly("redrives", engine: engine)
        },
        // An outbox row's status lives beside it in narrow tables, so marking a row published
        // writes a few bytes instead of rewriting the row with its payload (that rewrite was
        // a third of the bridge's database time).
        Migration(version: 3, name: "outbox status beside the rows") { engine in
            [
                "CREATE TABLE outbox_pending (seq BIGINT PRIMARY KEY REFERENCES outbox (seq))",
                """
                CREATE TABLE outbox_done (
                    seq BIGINT PRIMARY KEY REFERENCES outbox (seq),
                    status TEXT NOT NULL CHECK (status IN ('published', 'withheld')),
                    status_at TEXT NOT NULL,
                    status_reason TEXT)
                """,
                "INSERT INTO outbox_pending (seq) SELECT seq FROM outbox WHERE status = 'pending'",
                """
                INSERT INTO outbox_done (seq, status, status_at, status_reason)
                SELECT seq, status, COALESCE(status_at, created_at), status_reason FROM outbox WHERE status <> 'pending'
                """,
                "DROP INDEX outbox_by_status",
                "ALTER TABLE outbox DROP COLUMN status_reason",
                "ALTER TABLE outbox DROP COLUMN status_at",
                "ALTER TABLE outbox DROP COLUMN status",
            ]
        },
        // Rows are published in sequence order, so "everything up to N is settled" replaces a
        // row in `outbox_pending` per outbox row and its removal (with the `outbox_done` row,
        // those were a third of the bridge's database work per event). `outbox_done` now
        // holds only the exceptions: withheld rows, and rows settled above the mark (after a
        // failed delivery or out of order). The status of every row is in `outbox_status`.
        Migration(version: 4, name: "outbox settled-through mark") { _ in
            [
                "CREATE TABLE outbox_progress (id INTEGER PRIMARY KEY CHECK (id = 1), settled_through BIGINT NOT NULL)",
                """
                INSERT INTO outbox_progress (id, settled_through)
                SELECT 1, COALESCE((SELECT MIN(seq) - 1 FROM outbox_pending), (SELECT MAX(seq) FROM outbox), 0)
                """,
                "DROP TABLE outbox_pending",
                """
                CREATE VIEW outbox_status AS
                SELECT o.seq, COALESCE(d.status, CASE WHEN o.seq <= p.settled_through THEN 'published' ELSE 'pending' END) AS status
                FROM outbox o CROSS JOIN outbox_progress p LEFT JOIN outbox_done d ON d.seq = o.seq
                """,
            ]
        },
        // A record the broker refuses for what it is (too large, malformed) can never be
        // published: it is settled as `failed` with the error code instead of being retried
        // forever in front of every row behind it. The CHECK is widened by rebuilding the table
        // (SQLite cannot alter a constraint).
        Migration(version: 5, name: "outbox rows refused by the broker") { _ in
            [
                "DROP VIEW outbox_status",
                """
                CREATE TABLE outbox_done_v5 (
                    seq BIGINT PRIMARY KEY REFERENCES outbox (seq),
                    status TEXT NOT NULL CHECK (status IN ('published', 'withheld', 'failed')),
                    status_at TEXT NOT NULL,
                    status_reason TEXT)
                """,
                "INSERT INTO outbox_done_v5 (seq, status, status_at, status_reason) SELECT seq, status, status_at, status_reason FROM outbox_done",
                "DROP TABLE outbox_done",
                "ALTER TABLE outbox_done_v5 RENAME TO outbox_done",
                """
                CREATE VIEW outbox_status AS
                SELECT o.seq, COALESCE(d.status, CASE WHEN o.seq <= p.settled_through THEN 'published' ELSE 'pending' END) AS status
                FROM outbox o CROSS JOIN outbox_progress p LEFT JOIN outbox_done d ON d.seq = o.seq
                """,
            ]
        },
        // An anonymous forward keeps no person link in the bridge store (R2): its disclosure
        // is recorded without the person, the consent and the case reference; its decision and
        // redrive rows without the consent; the sending side's notice (the one row that pairs
        // case reference and person) is erased once settled. Existing rows are corrected.
        Migration(version: 6, name: "anonymous forwards without a person link") { engine in
            let asText = engine == .sqlite ? "CAST(payload AS TEXT)" : "convert_from(payload, 'UTF8')"
            return [
                """
                CREATE TABLE anonymous_disclosures (
                    disclosure_id TEXT PRIMARY KEY,
                    message_id TEXT NOT NULL REFERENCES decisions (message_id),
                    ce_type TEXT NOT NULL,
                    direction TEXT NOT NULL,
                    recipient_role TEXT NOT NULL,
                    recipient_organisation TEXT NOT NULL,
                    purpose TEXT NOT NULL,
                    disclosed_at TEXT NOT NULL,
                    bridge_version TEXT NOT NULL)
                """,
                """
                INSERT INTO anonymous_disclosures (disclosure_id, message_id, ce_type, direction, recipient_role,
                    recipient_organisation, purpose, disclosed_at, bridge_version)
                SELECT disclosure_id, message_id, ce_type, direction, recipient_role, recipient_organisation, purpose,
                    disclosed_at, bridge_version
                FROM disclosures WHERE form = 'anonymous'
                """,
                """
                UPDATE outbox SET disclosure_id = NULL
                WHERE disclosure_id IN (SELECT disclosure_id FROM disclosures WHERE form = 'anonymous')
                """,
                "UPDATE decisions SET consent_id = NULL, consent_version = NULL WHERE outcome = 'forward-anonymous'",
                "ALTER TABLE outbox ADD COLUMN erase_when_settled INTEGER NOT NULL DEFAULT 0",
                "CREATE INDEX outbox_to_erase ON outbox (seq) WHERE erase_when_settled = 1",
                // Earlier notices of anonymous forwards: erased by the relay once settled.
                """
                UPDATE outbox SET erase_when_settled = 1
                WHERE disclosure_id IS NULL AND \(asText) LIKE '%"form":"anonymous"%' AND \(asText) LIKE '%"caseReference"%'
                """,
                BridgeStore.eraseSettledRowsStatement(engine, cuttingReCheckHeaders: false),
            ]
                + Migrator.appendOnly("anonymous_disclosures", engine: engine)
                + Migrator.correctingAppendOnly(
                    "disclosures", engine: engine, ["DELETE FROM disclosures WHERE form = 'anonymous'"])
                + Migrator.correctingAppendOnly(
                    "redrives", engine: engine,
                    [
                        "UPDATE redrives SET consent_id = NULL, consent_version = NULL WHERE outcome = 'forward-anonymous'"
                    ])
        },
        // The operators' views list and count rejections by time and reason.
        Migration(version: 7, name: "rejections by time") { _ in
            [
                "CREATE INDEX rejections_by_time ON rejections (received_at)",
                "CREATE INDEX rejections_by_reason ON rejections (reason_code, received_at)",
            ]
        },
        // The receipt and notices of an identified forward are built again when read instead
        // of stored (`OutboxPayloadDerivation`): `derived` names how, and a notice finds its
        // copy's forwarded row by the disclosure id. Disclosure ids grow with time (UUID
        // version 7), so that index is appended to, not written all over.
        Migration(version: 8, name: "receipts and notices derived when read") { _ in
            [
                """
                ALTER TABLE outbox ADD COLUMN derived TEXT
                    CHECK (derived IN ('receipt', 'notice', 'notice-without-consent'))
                """,
                "CREATE INDEX outbox_by_disclosure ON outbox (disclosure_id) WHERE disclosure_id IS NOT NULL",
            ]
        },
        // An identified copy's row also carries the records derived from it (its disclosure
        // notice and, on a message's last copy, the receipt), so a referral is one stored row
        // instead of three. The record, not the row, stays the unit of publishing: record k of
        // the row `seq` has the sequence number `seq + k` (rows are numbered by the store, leaving
        // room for their records), and the settled-through mark and `outbox_done` count records.
        // `outbox_records` lists every record with its columns; `outbox_done` loses its key to
        // `outbox.seq` (a follower has no row of its own), by rebuilding it.
        // Its numbers are written out (two followers, three records per row): an applied
        // migration never changes; `followersPerRow` names what it laid out.
        Migration(version: 9, name: "derived records in their copy's row") { engine in
            let followerColumns = [1, 2].flatMap { number in
                [
                    "ALTER TABLE outbox ADD COLUMN follower\(number)_topic TEXT",
                    "ALTER TABLE outbox ADD COLUMN follower\(number)_key \(engine.bytesType)",
                    "ALTER TABLE outbox ADD COLUMN follower\(number)_headers TEXT",
                    """
                    ALTER TABLE outbox ADD COLUMN follower\(number)_derived TEXT
                        CHECK (follower\(number)_derived IN ('receipt', 'notice', 'notice-without-consent'))
                    """,
                ]
            }
            // The store numbers rows itself (a row takes as many numbers as it has records).
            let explicitSequence =
                engine == .postgres ? ["ALTER TABLE outbox ALTER COLUMN seq SET GENERATED BY DEFAULT"] : []
            return explicitSequence + [
                """
                ALTER TABLE outbox ADD COLUMN records INTEGER NOT NULL DEFAULT 1 CHECK (records BETWEEN 1 AND 3)
                """
            ] + followerColumns + [
                "CREATE TABLE outbox_record_numbers (k INTEGER PRIMARY KEY)",
                "INSERT INTO outbox_record_numbers (k) VALUES (0), (1), (2)",
                """
                CREATE VIEW outbox_records AS
                SELECT o.seq + r.k AS seq, o.seq AS row_seq, r.k AS record_index, o.message_id,
                    CASE r.k WHEN 0 THEN o.topic WHEN 1 THEN o.follower1_topic ELSE o.follower2_topic END AS topic,
                    CASE r.k WHEN 0 THEN o.kafka_key WHEN 1 THEN o.follower1_key ELSE o.follower2_key END AS kafka_key,
                    CASE r.k WHEN 0 THEN o.headers WHEN 1 THEN o.follower1_headers ELSE o.follower2_headers END
                        AS headers,
                    CASE r.k WHEN 0 THEN o.payload ELSE \(engine.emptyBytes) END AS payload,
                    CASE r.k WHEN 0 THEN o.disclosure_id END AS disclosure_id,
                    CASE r.k WHEN 0 THEN o.erase_when_settled ELSE 0 END AS erase_when_settled,
                    CASE r.k WHEN 0 THEN o.derived WHEN 1 THEN o.follower1_derived ELSE o.follower2_derived END
                        AS derived,
                    o.created_at
                FROM outbox o JOIN outbox_record_numbers r ON r.k < o.records
                """,
                "DROP VIEW outbox_status",
                """
                CREATE TABLE outbox_done_v9 (
                    seq BIGINT PRIMARY KEY,
                    status TEXT NOT NULL CHECK (status IN ('published', 'withheld', 'failed')),
                    status_at TEXT NOT NULL,
                    status_reason TEXT)
                """,
                "INSERT INTO outbox_done_v9 (seq, status, status_at, status_reason) SELECT seq, status, status_at, status_reason FROM outbox_done",
                "DROP TABLE outbox_done",
                "ALTER TABLE outbox_done_v9 RENAME TO outbox_done",
                """
                CREATE VIEW outbox_status AS
                SELECT o.seq, COALESCE(d.status, CASE WHEN o.seq <= p.settled_through THEN 'published' ELSE 'pending' END) AS status
                FROM outbox_records o CROSS JOIN outbox_progress p LEFT JOIN outbox_done d ON d.seq = o.seq
                """,
            ]
        },
        // On PostgreSQL the foreign keys of the tables every batch writes are checked once per
        // statement instead of once per row (`StatementReferenceChecks`): the per-row checks
        // were a quarter of a batch write. The guarantee stays: a row naming an unrecorded
        // decision or disclosure is refused, references never change, and a decision is never
        // removed or renamed (disclosures were append-only already). SQLite keeps its keys,
        // which cost it ~1 µs per event.
        Migration(version: 10, name: "references checked per statement") { engine in
            guard engine == .postgres else { return [] }
            let references = [
                ("disclosures", "message_id", "decisions", "message_id"),
                ("anonymous_disclosures", "message_id", "decisions", "message_id"),
                ("outbox", "message_id", "decisions", "message_id"),
                ("outbox", "disclosure_id", "disclosures", "disclosure_id"),
                ("rejections", "message_id", "decisions", "message_id"),
            ]
            // The keys' names are PostgreSQL's defaults for the columns migrations 1 and 6 made.
            return references.map { child, column, _, _ in
                "ALTER TABLE \(child) DROP CONSTRAINT \(child)_\(column)_fkey"
            }
                + references.flatMap { child, column, parent, key in
                    StatementReferenceChecks.referenceChecked(
                        child: child, column: column, parent: parent, parentKey: key)
                }
                + StatementReferenceChecks.referencesFixed("outbox", columns: ["message_id", "disclosure_id"])
                + StatementReferenceChecks.referencesFixed("rejections", columns: ["message_id"])
                + StatementReferenceChecks.keptParent("decisions", key: "message_id")
        },
        // SQLite evaluates `x IN (a, b, c)` (three or more constants) through an ephemeral
        // index it builds once per statement run, and each inserted row is a run of its own:
        // the CHECKs below built ~3 B-trees per referral (with the checks off, `bench store`
        // made 40.6–41.8k instead of 32.7–34.8k referrals/s). Spelled as comparisons they say
        // the same and are evaluated in place. PostgreSQL compares a list in place already.
        Migration(
            version: 11, name: "checks compared in place",
            sqliteSchemaRewrites: [
                BridgeStore.comparisons(in: "decisions", column: "outcome", ["forward", "forward-anonymous", "reject"])
            ]
                + ["derived", "follower1_derived", "follower2_derived"].map {
                    BridgeStore.comparisons(in: "outbox", column: $0, ["receipt", "notice", "notice-without-consent"])
                }
                + [BridgeStore.comparisons(in: "outbox_done", column: "status", ["published", "withheld", "failed"])]
        ) { _ in [] },
        // A settled outbox row's payload and key are erased (`eraseHandedOverContent`): the
        // bridge hands content over, each side's documentation stays in its own store (R9).
        // `content_erased_through`: every row at or below it is erased. A disclosure notice
        // stored in a row of its own (before migration 9) is built from its copy's payload
        // when relayed, so erasing waits until the mark has passed the last such row
        // (`content_erasure_after`). Rows kept from before are erased as the relay settles.
        // On PostgreSQL new outbox pages keep a fifth free, so that the erasing UPDATE can
        // often write the row's new version on the same page (a heap-only update: no new index
        // entries). Full pages: 6 of 20,001 updates heap-only, and erasing cost the bridge ~12%
        // of its events/s; a fifth free: 40% heap-only and 3 pairs 10.0k → 11.5k events/s;
        // 35% free: 75%, with no difference measured beside a fifth.
        Migration(version: 12, name: "settled rows' content erased") { engine in
            (engine == .postgres ? ["ALTER TABLE outbox SET (fillfactor = 80)"] : []) + [
                "ALTER TABLE outbox_progress ADD COLUMN content_erased_through BIGINT NOT NULL DEFAULT 0",
                "ALTER TABLE outbox_progress ADD COLUMN content_erasure_after BIGINT NOT NULL DEFAULT 0",
                """
                UPDATE outbox_progress SET content_erasure_after = COALESCE(
                    (SELECT MAX(seq) FROM outbox WHERE derived = 'notice' OR derived = 'notice-without-consent'), 0)
                WHERE id = 1
                """,
            ]
        },
        // A rejection's sealed payload is kept for a redrive only as long as
        // `rejections.sealed-payload-retention-hours` says (`eraseSealedPayloads`); then it is
        // erased and the row keeps its metadata for counts and trends. The partial index finds
        // the oldest payloads still kept without walking the rows already erased.
        Migration(version: 13, name: "rejections' sealed payloads expire") { _ in
            [
                "ALTER TABLE rejections ADD COLUMN sealed_payload_erased_at TEXT",
                """
                CREATE INDEX rejections_sealed_by_time ON rejections (received_at)
                WHERE sealed_payload IS NOT NULL
                """,
            ]
        },
        // A settled identified copy's stored headers lose the relay's re-check headers (the
        // person, the consent's categories) with its content (`eraseHandedOverContent`). Rows
        // erased before are gone over again, in the same bounded steps as the first erasing.
        Migration(version: 14, name: "settled rows' re-check headers erased") { _ in
            ["UPDATE outbox_progress SET content_erased_through = 0 WHERE id = 1"]
        },
        // Rows written before the `h2:` header form (the fifth round's) keep their headers in
        // `h1:` or JSON, in which the erasing statement cannot find where the re-check headers
        // start, so a settled one kept naming its person. They are written again in `h2:` (the
        // same headers), and erasing goes over them again from the first of them.
        Migration(
            version: 15, name: "outbox headers of earlier forms rewritten",
            rewriteRows: { sql, _ in try await BridgeStore.rewriteEarlierHeaderForms(sql) },
            statements: { _ in [] }
        ),
        // An anonymous copy's notice and receipt follow its delivery as an identified copy's do:
        // a copy withheld before it was sent (too large for its cluster) or refused by its
        // cluster is recorded as withheld beside its anonymous disclosure, in the transaction
        // that settles it, so a notice or receipt still pending at a restart says so (R4).
        // Append-only, and like `anonymous_disclosures` without person, consent or case
        // reference (R2).
        Migration(version: 16, name: "anonymous copies' withholdings") { engine in
            [
                """
                CREATE TABLE anonymous_disclosure_withholdings (
                    disclosure_id TEXT PRIMARY KEY REFERENCES anonymous_disclosures (disclosure_id),
                    reason_code TEXT NOT NULL,
                    withheld_at TEXT NOT NULL)
                """
            ] + Migrator.appendOnly("anonymous_disclosure_withholdings", engine: engine)
        },
        KafkaClusterBindings.migration(version: 17),
    ]

    /// Migration 15's rows: every outbox row whose headers are in a form before `h2:` (the rows
    /// a store held when it was upgraded to that form), decoded and encoded again.
    private static func rewriteEarlierHeaderForms(_ sql: any SQLDatabase) async throws {
        let rows = try await sql.raw(
            "SELECT seq, headers FROM outbox WHERE substr(headers, 1, 3) <> \(bind: OutboxHeaderCodec.prefix) ORDER BY seq"
        ).all()
        var first: Int64?
        for row in rows {
            let seq = try row.decode(column: "seq", as: Int64.self)
            let headers = try OutboxHeaderCodec.decode(try row.decode(column: "headers", as: String.self))
            try await sql.raw(
                "UPDATE outbox SET headers = \(bind: OutboxHeaderCodec.encode(headers)) WHERE seq = \(bind: seq)"
            ).run()
            first = first ?? seq
        }
        guard let first else { return }
        try await sql.raw(
            """
            UPDATE outbox_progress SET content_erased_through = \(bind: first - 1)
            WHERE id = 1 AND content_erased_through >= \(bind: first)
            """
        ).run()
    }

    /// `CHECK (column IN ('a', 'b', …))`, as the migrations above wrote it, spelled as comparisons.
    private static func comparisons(in table: String, column: String, _ values: [String]) -> SQLiteSchemaRewrite {
        SQLiteSchemaRewrite(
            table: table,
            text: "CHECK (\(column) IN (\(values.map { "'\($0)'" }.joined(separator: ", "))))",
            replacement: "CHECK (\(values.map { "\(column) = '\($0)'" }.joined(separator: " OR ")))")
    }

    /// Most records a stored outbox row carries besides its own (`follower1_…`, `follower2_…`,
    /// as migration 9 laid out the table): a copy's notice and the message's receipt.
    static let followersPerRow = 2
}
