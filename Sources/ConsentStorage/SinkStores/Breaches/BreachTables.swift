package import ConsentContracts
import Foundation
import SQLKit

/// The tables both sink stores keep for R10, and their reads and writes.
///
/// - `quarantine`: what the sink refused as a breach, sealed with its side's key; never in the
///   side's documentation tables, append-only.
/// - `breach_outbox`: each notice once per breach topic, written in the transaction that
///   quarantines the record and published after it commits (nothing lost across a crash).
/// - `breach_log`: the notices this side received on its own breach topic (from either sink),
///   append-only: the side's record of breaches affecting shared data.
enum BreachTables {
    static func migration(version: Int) -> Migration {
        Migration(version: version, name: "breach quarantine, outbox and log (R10)") { engine in
            [
                """
                CREATE TABLE quarantine (
                    breach_id TEXT PRIMARY KEY,
                    source_topic TEXT NOT NULL,
                    partition_id INTEGER NOT NULL,
                    source_offset BIGINT NOT NULL,
                    message_type TEXT NOT NULL,
                    reason_code TEXT NOT NULL,
                    rule TEXT NOT NULL,
                    sealed_record \(engine.bytesType) NOT NULL,
                    sealing_key_id TEXT NOT NULL,
                    quarantined_at TEXT NOT NULL)
                """,
                """
                CREATE TABLE breach_outbox (
                    breach_id TEXT NOT NULL,
                    topic TEXT NOT NULL,
                    payload \(engine.bytesType) NOT NULL,
                    detected_at TEXT NOT NULL,
                    published_at TEXT,
                    PRIMARY KEY (breach_id, topic))
                """,
                "CREATE INDEX breach_outbox_pending ON breach_outbox (detected_at) WHERE published_at IS NULL",
                """
                CREATE TABLE breach_log (
                    ce_id TEXT PRIMARY KEY,
                    breach_id TEXT NOT NULL,
                    detected_by TEXT NOT NULL,
                    message_type TEXT NOT NULL,
                    reason_code TEXT NOT NULL,
                    rule TEXT NOT NULL,
                    detected_at TEXT NOT NULL,
                    document \(engine.bytesType) NOT NULL,
                    source_topic TEXT NOT NULL,
                    partition_id INTEGER NOT NULL,
                    source_offset BIGINT NOT NULL,
                    received_at TEXT NOT NULL)
                """,
            ]
                + Migrator.appendOnly("quarantine", engine: engine)
                + Migrator.appendOnly("breach_log", engine: engine)
        }
    }

    /// Quarantines `records` and queues their notices for every topic; records already
    /// quarantined (same breach id) are left as they are. Returns the newly quarantined.
    static func quarantine(_ sql: any SQLDatabase, _ records: [QuarantinedRecord], topics: [String], now: Date)
        async throws -> [BreachNotice]
    {
        // A batch may carry the same record twice (a consumer replay): one breach.
        var seen = Set<String>()
        let records = records.filter { seen.insert($0.notice.breachID).inserted }
        guard !records.isEmpty else { return [] }
        let inserted = Set(
            try await StoreSQL.insertIgnoringDuplicates(
                sql, into: "quarantine",
                columns: [
                    "breach_id", "source_topic", "partition_id", "source_offset", "message_type", "reason_code", "rule",
                    "sealed_record", "sealing_key_id", "quarantined_at",
                ],
                rows: records.map { record in
                    let notice = record.notice
                    return [
                        SQLBind(notice.breachID), SQLBind(notice.source.topic), SQLBind(Int64(notice.source.partition)),
                        SQLBind(notice.source.offset), SQLBind(notice.messageType), SQLBind(notice.reason),
                        SQLBind(notice.rule),
                        StoreSQL.bytes(record.sealedRecord), SQLBind(record.sealingKeyID), StoreSQL.time(now),
                    ]
                },
                returning: "breach_id"))
        let fresh = records.map(\.notice).filter { inserted.contains($0.breachID) }
        let rows: [[any SQLExpression]] = fresh.flatMap { notice in
            let payload = notice.jsonValue.serializedBytes()
            return topics.map { topic in
                [SQLBind(notice.breachID), SQLBind(topic), StoreSQL.bytes(payload), SQLBind(notice.detectedAt)]
                    as [any SQLExpression]
            }
        }
        if !rows.isEmpty {
            try await StoreSQL.insert(
                sql, into: "breach_outbox", columns: ["breach_id", "topic", "payload", "detected_at"], rows: rows)
        }
        return fresh
    }

    /// The row `breach_log` keeps for a notice received on the side's breach topic, or nil when
    /// the body is not a valid notice (validated against the published contract when given).
    static func logRow(_ record: SinkRecord, value: [UInt8], ceID: String, schema: JSONSchema?, now: Date) -> SinkRow? {
        guard let json = try? StrictJSON.parse(value) else { return nil }
        if let schema, !schema.isValid(json) { return nil }
        guard let notice = try? BreachNotice(json: json), notice.breachID == ceID else { return nil }
        return SinkRow(
            table: "breach_log",
            columns: [
                "ce_id", "breach_id", "detected_by", "message_type", "reason_code", "rule", "detected_at", "document",
                "source_topic", "partition_id", "source_offset", "received_at",
            ],
            values: [
                SQLBind(ceID), SQLBind(notice.breachID), SQLBind(notice.detectedBy.rawValue),
                SQLBind(notice.messageType),
                SQLBind(notice.reason), SQLBind(notice.rule), SQLBind(notice.detectedAt), StoreSQL.bytes(value),
                SQLBind(record.topic), SQLBind(Int64(record.partition)), SQLBind(record.offset), StoreSQL.time(now),
            ],
            ceID: ceID)
    }

    static func pending(_ sql: any SQLDatabase, limit: Int) async throws -> [PendingBreachNotice] {
        try await sql.raw(
            """
            SELECT breach_id, topic, payload, detected_at FROM breach_outbox WHERE published_at IS NULL
            ORDER BY detected_at, breach_id, topic LIMIT \(unsafeRaw: String(max(1, limit)))
            """
        ).all().map { row in
            PendingBreachNotice(
                breachID: try row.decode(column: "breach_id", as: String.self),
                topic: try row.decode(column: "topic", as: String.self),
                payload: Array(try row.decode(column: "payload", as: Data.self)),
                detectedAt: try row.decode(column: "detected_at", as: String.self))
        }
    }

    static func markPublished(_ sql: any SQLDatabase, _ notices: [PendingBreachNotice], now: Date) async throws {
        for notice in notices {
            try await sql.raw(
                """
                UPDATE breach_outbox SET published_at = \(bind: StoreTime.string(from: now))
                WHERE breach_id = \(bind: notice.breachID) AND topic = \(bind: notice.topic) AND published_at IS NULL
                """
            ).run()
        }
    }

    /// What was quarantined, without the sealed content (for operators and tests).
    static func quarantined(_ sql: any SQLDatabase) async throws -> [QuarantineEntry] {
        try await sql.raw("SELECT * FROM quarantine ORDER BY quarantined_at, breach_id").all().map { row in
            QuarantineEntry(
                breachID: try row.decode(column: "breach_id", as: String.self),
                source: SourcePosition(
                    topic: try row.decode(column: "source_topic", as: String.self),
                    partition: Int32(try row.decode(column: "partition_id", as: Int64.self)),
                    offset: try row.decode(column: "source_offset", as: Int64.self)),
                messageType: try row.decode(column: "message_type", as: String.self),
                reason: try row.decode(column: "reason_code", as: String.self),
                rule: try row.decode(column: "rule", as: String.self),
                sealedRecord: Array(try row.decode(column: "sealed_record", as: Data.self)),
                sealingKeyID: try row.decode(column: "sealing_key_id", as: String.self))
        }
    }

    /// The notices this side received, oldest first.
    static func log(_ sql: any SQLDatabase) async throws -> [BreachNotice] {
        try await sql.raw("SELECT document FROM breach_log ORDER BY detected_at, breach_id").all().map { row in
            let document = Array(try row.decode(column: "document", as: Data.self))
            return try BreachNotice(json: try StrictJSON.parse(document))
        }
    }
}

/// One quarantined record as stored: metadata and the sealed record.
package struct QuarantineEntry: Sendable, Hashable {
    package var breachID: String
    package var source: SourcePosition
    package var messageType: String
    package var reason: String
    package var rule: String
    /// Opened with the side's key and the breach id as associated data (`SealingBox.open`).
    package var sealedRecord: [UInt8]
    package var sealingKeyID: String
}
