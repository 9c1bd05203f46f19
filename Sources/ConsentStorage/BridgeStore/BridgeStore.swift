package import ConsentConfiguration
import Foundation
package import Logging
import NIOCore
import PostgresKit
import SQLKit

/// The bridge's own store: consent view, offsets, decisions (dedup), outbox, disclosures,
/// rejections. Holds no API that writes a health journal or NAV case record (docs/rules.md R9).
package final class BridgeStore: Sendable {
    /// The open database.
    package let database: StoreDatabase
    private let logger: Logger

    private init(database: StoreDatabase, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// Opens (and migrates) the bridge store at `location`.
    package static func open(_ location: StoreLocation, logger: Logger) async throws(StorageError) -> BridgeStore {
        let database = try await StoreDatabase.open(location, logger: logger)
        do throws(StorageError) {
            try await Migrator.migrate(database, kind: .bridge, migrations: Self.migrations, logger: logger)
        } catch {
            await database.close()
            throw error
        }
        return BridgeStore(database: database, logger: logger)
    }

    /// Closes the connection.
    package func close() async {
        await self.database.close()
    }

    // MARK: Batch write

    /// Records one batch in one transaction: decisions (message ids), disclosures, outbox rows,
    /// rejections and offsets together (exactly-once: what a call records, and the offsets it
    /// reaches, commit together or not at all).
    ///
    /// A message whose id is already recorded (earlier, or before it in the batch) for an event
    /// of the same topic is skipped entirely: it is that event again (a producer's retry, a
    /// redelivery after a crash or a hand-over), so a second call with the same ids changes
    /// nothing. When the id is recorded for an event of another topic (another system uses the
    /// same id), the message is not the same event: `alternative` builds it again under its
    /// alternative id, which is recorded in the same transaction (skipped in turn if already
    /// recorded). Without `alternative`, such a message is skipped too.
    package func record(_ batch: BridgeBatch, alternative: AlternativeRecord? = nil) async throws(StorageError)
        -> BridgeBatchResult
    {
        try await self.record(try self.prepare(batch, alternative: alternative))
    }

    /// Builds the message at a position of the batch again, under its alternative id (one no
    /// other topic's event is recorded under). Called, on the store's thread inside the batch's
    /// transaction, only for a message whose id another topic's event holds.
    package typealias AlternativeRecord = @Sendable (_ position: Int) throws -> BridgeMessageRecord

    /// Encodes a batch's rows without touching the database, so that the work can overlap
    /// the previous batch's transaction (the connection is held only for the SQL). On
    /// PostgreSQL that includes the statements themselves (`PostgresBatchStatements`).
    package func prepare(_ batch: BridgeBatch, alternative: AlternativeRecord? = nil) throws(StorageError)
        -> PreparedBridgeBatch
    {
        let messages = batch.messages
        var seen = Set<String>(minimumCapacity: messages.count)
        var repeated: [PreparedBridgeBatch.Repeat] = []
        var rows: [MessageRows] = []
        rows.reserveCapacity(messages.count)
        let now = Date()
        // By index: the messages are read where they are, not copied.
        for index in messages.indices {
            let messageID = messages[index].decision.messageID
            if let rejection = messages[index].rejection, rejection.messageID != messageID {
                throw StorageError(.invalidBatch, "rejection record does not belong to its decision")
            }
            if seen.insert(messageID).inserted {
                rows.append(try MessageRows(messages[index], createdAt: now, position: index))
            } else {
                // Rare: an id met before in this batch. Of the same topic, the same event again;
                // of another, another system's (decided in the transaction, as ids recorded before).
                let topic = messages[index].decision.sourceTopic
                let first = rows.first { $0.messageID == messageID }
                repeated.append(
                    PreparedBridgeBatch.Repeat(
                        position: index, messageID: messageID, sourceTopic: topic,
                        isSameEvent: alternative == nil || first?.sourceTopic == topic))
            }
        }
        let statements = self.database.engine == .postgres ? try PostgresBatchStatements(rows) : nil
        return PreparedBridgeBatch(
            rows: rows, repeated: repeated, offsets: batch.offsets, createdAt: now, postgres: statements,
            alternative: alternative)
    }

    /// Records a prepared batch (see `record(_:)` for what it writes).
    package func record(_ prepared: PreparedBridgeBatch) async throws(StorageError) -> BridgeBatchResult {
        let rows = prepared.rows
        let now = prepared.createdAt
        // The store's one thread runs every transaction of the process, so only the SQL runs on
        // it: what was recorded comes back as ids and sequence numbers, and the rows handed to
        // the relay are put together afterwards, here.
        let (fresh, sequences, alternates): ([MessageRows], [Int64], [AlternateMessage]) =
            try await self.database.transaction { sql in
                var fresh = try await self.insertDecisions(sql, prepared)
                var alternates: [AlternateMessage] = []
                if prepared.alternative != nil, fresh.count != rows.count || prepared.hasOtherTopicRepeats {
                    // Rare: some ids are recorded already, and another topic's event may hold them.
                    alternates = try await self.recordAlternates(sql, prepared, fresh: fresh)
                }
                let sequences: [Int64]
                if fresh.count == rows.count, alternates.isEmpty, let statements = prepared.postgres {
                    // Every message is new (the usual case): the statements encoded beforehand hold.
                    for statement in statements.rows { try await sql.raw(statement).run() }
                    sequences = try await statements.outbox?.run(sql) ?? []
                } else {
                    if !alternates.isEmpty {
                        // In the batch's order, as the relay publishes them.
                        fresh = (fresh + alternates.map(\.rows)).sorted { $0.position < $1.position }
                    }
                    sequences = try await self.insertRows(sql, of: fresh)
                }
                try await StoreSQL.advanceOffsets(sql, prepared.offsets, at: now)
                return (fresh, sequences, alternates)
            }
        let recorded = fresh.map(\.messageID)
        var storedOutbox: [StoredOutboxRow] = []
        storedOutbox.reserveCapacity(fresh.reduce(0) { $0 + $1.recordCount })
        var rowIndex = 0
        for message in fresh {
            for row in message.outbox {
                for (index, record) in row.records.enumerated() {
                    storedOutbox.append(
                        StoredOutboxRow(
                            sequence: sequences[rowIndex] + Int64(index), messageID: row.messageID, record: record,
                            createdAt: now))
                }
                rowIndex += 1
            }
        }
        var result = BridgeBatchResult(recordedMessageIDs: recorded, duplicateMessageIDs: [], outbox: storedOutbox)
        if fresh.count != rows.count || !prepared.repeated.isEmpty || !alternates.isEmpty {
            // Rare: what was not recorded under its own id, in the batch's order.
            let recordedPositions = Set(fresh.map(\.position))
            let alternatePositions = Set(alternates.map(\.rows.position))
            var skipped: [(position: Int, messageID: String)] = []
            for row in rows where !recordedPositions.contains(row.position) {
                skipped.append((row.position, row.messageID))
            }
            for repeated in prepared.repeated { skipped.append((repeated.position, repeated.messageID)) }
            skipped.sort { $0.position < $1.position }
            for message in skipped where !alternatePositions.contains(message.position) {
                result.duplicateMessageIDs.append(message.messageID)
                result.skippedPositions.append(message.position)
            }
            result.alternates = alternates.map {
                AlternateRecording(
                    position: $0.rows.position, messageID: $0.messageID, recordedAs: $0.decision)
            }
        }
        if !result.duplicateMessageIDs.isEmpty {
            self.logger.debug(
                "bridge batch skipped already recorded messages",
                metadata: ["store.duplicates": "\(result.duplicateMessageIDs.count)"])
        }
        return result
    }

    /// A message recorded under its alternative id (its own id being another topic's event's).
    private struct AlternateMessage: Sendable {
        /// The id it came with.
        let messageID: String
        let rows: MessageRows
        let decision: DecisionRecord
    }

    /// In the batch's transaction, after its decisions' insert: records under their
    /// alternative ids (`PreparedBridgeBatch.alternative`) the messages whose id another
    /// topic's event holds, and returns them; those whose id an event of their own topic holds
    /// stay skipped (the same event again), as do those whose alternative id is recorded already.
    /// One statement reads which topic holds the ids; one inserts the alternates' decisions.
    private func recordAlternates(_ sql: any SQLDatabase, _ prepared: PreparedBridgeBatch, fresh: [MessageRows])
        async throws -> [AlternateMessage]
    {
        guard let alternative = prepared.alternative else { return [] }
        let recordedPositions = Set(fresh.map(\.position))
        var candidates: [(position: Int, messageID: String, sourceTopic: String)] = []
        for row in prepared.rows where !recordedPositions.contains(row.position) {
            candidates.append((row.position, row.messageID, row.sourceTopic))
        }
        for repeated in prepared.repeated where !repeated.isSameEvent {
            candidates.append((repeated.position, repeated.messageID, repeated.sourceTopic))
        }
        guard !candidates.isEmpty else { return [] }
        candidates.sort { $0.position < $1.position }
        // The topic each id is recorded for (this transaction's own decisions included).
        var holders: [String: String] = [:]
        for chunk in Array(Set(candidates.map(\.messageID))).chunked(by: StoreSQL.rowsPerStatement) {
            let found = try await sql.select().columns("message_id", "source_topic").from("decisions")
                .where("message_id", .in, Array(chunk)).all()
            for row in found {
                holders[try row.decode(column: "message_id", as: String.self)] = try row.decode(
                    column: "source_topic", as: String.self)
            }
        }
        var alternates: [AlternateMessage] = []
        var seen = Set<String>()
        for candidate in candidates where holders[candidate.messageID] != candidate.sourceTopic {
            let message = try alternative(candidate.position)
            let decision = message.decision
            guard decision.messageID != candidate.messageID, decision.sourceTopic == candidate.sourceTopic else {
                throw StorageError(.invalidBatch, "an alternative record keeps its id or changes its topic")
            }
            if let rejection = message.rejection, rejection.messageID != decision.messageID {
                throw StorageError(.invalidBatch, "rejection record does not belong to its decision")
            }
            // Two copies of one event in the batch have one alternative id: recorded once.
            guard seen.insert(decision.messageID).inserted else { continue }
            alternates.append(
                AlternateMessage(
                    messageID: candidate.messageID,
                    rows: try MessageRows(message, createdAt: prepared.createdAt, position: candidate.position),
                    decision: decision))
        }
        guard !alternates.isEmpty else { return [] }
        // An alternative id recorded already: this event again (a redelivery, a retry).
        let inserted = try await self.database.bulkInsert(
            sql, into: "decisions", columns: MessageRows.decisionColumns, rows: alternates.map(\.rows.decision),
            ignoringConflicts: true, returning: "message_id")
        let insertedIDs = Set(
            inserted.compactMap { value -> String? in
                if case .text(let id) = value { return id }
                return nil
            })
        return alternates.filter { insertedIDs.contains($0.rows.messageID) }
    }

    /// Inserts the batch's decisions, skipping messages already recorded, and returns the rows
    /// of the messages that were new.
    private func insertDecisions(_ sql: any SQLDatabase, _ prepared: PreparedBridgeBatch) async throws
        -> [MessageRows]
    {
        let rows = prepared.rows
        let insertedIDs: Set<String>
        if let statements = prepared.postgres {
            guard let result = try await sql.raw(statements.decisions).first() else {
                throw StorageError(.queryFailed, "the decisions' insert returned no count")
            }
            if try result.decode(column: "inserted", as: Int64.self) == rows.count { return rows }
            insertedIDs = Set(
                try result.decodeNil(column: "keys") ? [] : result.decode(column: "keys", as: [String].self))
        } else {
            let inserted = try await self.database.bulkInsert(
                sql, into: "decisions", columns: MessageRows.decisionColumns, rows: rows.map(\.decision),
                ignoringConflicts: true, returning: "message_id")
            // Usually every message is new: nothing to filter.
            if inserted.count == rows.count { return rows }
            insertedIDs = Set(
                inserted.compactMap { value -> String? in
                    if case .text(let id) = value { return id }
                    return nil
                })
        }
        return rows.filter { insertedIDs.contains($0.messageID) }
    }

    /// Inserts the disclosures, rejections and outbox rows of `messages` (whose decisions are
    /// recorded) and returns the outbox rows' numbers.
    private func insertRows(_ sql: any SQLDatabase, of messages: [MessageRows]) async throws -> [Int64] {
        for (table, columns, rows) in MessageRows.tableRows(of: messages) {
            _ = try await self.database.bulkInsert(sql, into: table, columns: columns, rows: rows)
        }
        return try await self.insertOutboxRows(sql, messages.flatMap(\.outbox))
    }

    /// The stored offsets of one consumer group (where to seek on assignment).
    package func offsets(consumerGroup: String) async throws(StorageError) -> [ConsumerOffset] {
        try await self.database.read { sql in try await StoreSQL.offsets(sql, consumerGroup: consumerGroup) }
    }

    /// Whether a message id has been recorded.
    package func hasRecorded(messageID: String) async throws(StorageError) -> Bool {
        try await self.database.read { sql in
            try await sql.raw("SELECT 1 AS found FROM decisions WHERE message_id = \(bind: messageID)").first() != nil
        }
    }

    /// The recorded decision for a message id.
    package func decision(messageID: String) async throws(StorageError) -> DecisionRecord? {
        try await self.database.read { sql in
            guard let row = try await sql.raw("SELECT * FROM decisions WHERE message_id = \(bind: messageID)").first()
            else {
                return nil
            }
            guard let outcome = DecisionRecord.Outcome(rawValue: try row.decode(column: "outcome", as: String.self)),
                let decidedAt = StoreTime.date(from: try row.decode(column: "decided_at", as: String.self))
            else {
                throw StorageError(.corruptRow, "decision row has an unknown outcome or unreadable time")
            }
            return DecisionRecord(
                messageID: messageID,
                sourceTopic: try row.decode(column: "source_topic", as: String.self),
                partition: Int32(try row.decode(column: "partition_id", as: Int64.self)),
                offset: try row.decode(column: "source_offset", as: Int64.self),
                ceType: try row.decode(column: "ce_type", as: String?.self),
                outcome: outcome,
                reasonCode: try row.decode(column: "reason_code", as: String?.self),
                consentID: try row.decode(column: "consent_id", as: String?.self),
                consentVersion: try row.decode(column: "consent_version", as: Int64?.self),
                bridgeVersion: try row.decode(column: "bridge_version", as: String.self),
                decidedAt: decidedAt
            )
        }
    }

    /// Disclosures about one subject, oldest first.
    package func disclosures(subjectID: String) async throws(StorageError) -> [DisclosureRecord] {
        try await self.database.read { sql in
            try await sql.raw(
                "SELECT * FROM disclosures WHERE subject_id = \(bind: subjectID) ORDER BY disclosed_at, disclosure_id"
            )
            .all().map(StoreSQL.decodeDisclosure)
        }
    }

    /// Rejection metadata, newest first (no plaintext: the payload stays sealed).
    package func rejections(limit: Int) async throws(StorageError) -> [RejectionRecord] {
        try await self.database.read { sql in
            try await sql.raw(
                "SELECT * FROM rejections ORDER BY received_at DESC, message_id LIMIT \(unsafeRaw: String(max(0, limit)))"
            )
            .all().map(Self.decodeRejection)
        }
    }

    static func decodeRejection(_ row: any SQLRow) throws -> RejectionRecord {
        guard let receivedAt = StoreTime.date(from: try row.decode(column: "received_at", as: String.self)) else {
            throw StorageError(.corruptRow, "rejection row has an unreadable time")
        }
        return RejectionRecord(
            messageID: try row.decode(column: "message_id", as: String.self),
            ceType: try row.decode(column: "ce_type", as: String?.self),
            ceSource: try row.decode(column: "ce_source", as: String?.self),
            reasonCode: try row.decode(column: "reason_code", as: String.self),
            sealedPayload: try row.decode(column: "sealed_payload", as: Data?.self).map { Array($0) },
            sealingKeyID: try row.decode(column: "sealing_key_id", as: String?.self),
            receivedAt: receivedAt,
            ceTime: try row.decode(column: "ce_time", as: String?.self)
        )
    }

    // MARK: Outbox (for the relay)

    /// Pending outbox rows in publish order (those with a sequence above `after`), with the
    /// payloads the store did not keep built again (`OutboxPayloadDerivation`), unless
    /// `derivingPayloads` is false (such rows then have an empty payload: for readers of the
    /// headers only, such as the relay's recovery).
    package func pendingOutbox(after: Int64 = 0, limit: Int, derivingPayloads: Bool = true) async throws(StorageError)
        -> [StoredOutboxRow]
    {
        try await self.database.read { sql in
            var rows: [StoredOutboxRow]
            if let link = (sql as? PostgresLinkSQLDatabase)?.link {
                rows = try await Self.pendingOutbox(link, after: after, limit: limit)
            } else {
                rows = try await Self.pendingOutbox(sql, after: after, limit: limit)
            }
            if derivingPayloads { try await Self.derivePayloads(&rows, sql) }
            return rows
        }
    }

    /// `pendingOutbox` through SQLKit (SQLite).
    private static func pendingOutbox(_ sql: any SQLDatabase, after: Int64, limit: Int) async throws
        -> [StoredOutboxRow]
    {
        try await sql.raw(
            """
            SELECT \(unsafeRaw: Self.pendingRecordColumns) FROM outbox_records o
            WHERE \(unsafeRaw: Self.isPendingOutboxRecord) AND \(unsafeRaw: Self.recordsAfter(after))
            ORDER BY o.row_seq, o.record_index LIMIT \(unsafeRaw: String(max(0, limit)))
            """
        )
        .all().map { row in
            try Self.outboxRow(
                sequence: try row.decode(column: "seq", as: Int64.self),
                messageID: try row.decode(column: "message_id", as: String.self),
                topic: try row.decode(column: "topic", as: String.self),
                key: try row.decode(column: "kafka_key", as: Data?.self).map { Array($0) },
                headers: try row.decode(column: "headers", as: String.self),
                payload: Array(try row.decode(column: "payload", as: Data.self)),
                disclosureID: try row.decode(column: "disclosure_id", as: String?.self),
                isErasedOnceSettled: try row.decode(column: "erase_when_settled", as: Int64.self) != 0,
                derived: try row.decode(column: "derived", as: String?.self),
                createdAt: try row.decode(column: "created_at", as: String.self))
        }
    }

    /// `pendingOutbox` on PostgreSQL, decoded by PostgresNIO from the columns' positions: the
    /// relay of a shared store reads every row back, and SQLKit's decoding by column name was
    /// ~70% of that read (8% of the bridge's CPU on PostgreSQL).
    private static func pendingOutbox(
        _ link: PostgresLink, after: Int64, limit: Int
    ) async throws -> [StoredOutboxRow] {
        let query: PostgresQuery = """
            SELECT \(unescaped: Self.pendingRecordColumns) FROM outbox_records o
            WHERE \(unescaped: Self.isPendingOutboxRecord) AND \(unescaped: Self.recordsAfter(after))
            ORDER BY o.row_seq, o.record_index LIMIT \(unescaped: String(max(0, limit)))
            """
        var rows: [StoredOutboxRow] = []
        let columns = (Int64, String, String, ByteBuffer?, String, ByteBuffer, String?, Int64, String?, String).self
        // Through the link (the store's current connection), whose check keeps a query from
        // being lost on a closed one.
        for row in try await link.query(query).rows {
            let (sequence, messageID, topic, key, headers, payload, disclosureID, erase, derived, createdAt) =
                try row.decode(columns)
            rows.append(
                try Self.outboxRow(
                    sequence: sequence, messageID: messageID, topic: topic,
                    key: key.map { Array($0.readableBytesView) }, headers: headers,
                    payload: Array(payload.readableBytesView), disclosureID: disclosureID,
                    isErasedOnceSettled: erase != 0, derived: derived, createdAt: createdAt))
        }
        return rows
    }

    /// The columns of `outbox_records` a pending record is read from, in `outboxRow`'s order.
    private static let pendingRecordColumns = """
        o.seq, o.message_id, o.topic, o.kafka_key, o.headers, o.payload, o.disclosure_id, o.erase_when_settled,
        o.derived, o.created_at
        """

    /// The condition that record `o` comes after sequence number `after` (through its row's
    /// number too, for the primary key: see `isPendingOutboxRecord`).
    private static func recordsAfter(_ after: Int64) -> String {
        "o.seq > \(after) AND o.row_seq > \(after) - \(followersPerRow)"
    }

    /// A pending outbox row from its columns' values.
    private static func outboxRow(
        sequence: Int64, messageID: String, topic: String, key: [UInt8]?, headers: String, payload: [UInt8],
        disclosureID: String?, isErasedOnceSettled: Bool, derived: String?, createdAt: String
    ) throws(StorageError) -> StoredOutboxRow {
        guard let created = StoreTime.date(from: createdAt) else {
            throw StorageError(.corruptRow, "outbox row has an unreadable time")
        }
        var derivation: OutboxPayloadDerivation?
        if let derived {
            guard let known = OutboxPayloadDerivation(rawValue: derived) else {
                throw StorageError(.corruptRow, "outbox row has an unknown payload derivation")
            }
            derivation = known
        }
        return StoredOutboxRow(
            sequence: sequence, messageID: messageID,
            record: OutboxRecord(
                topic: topic, key: key, headers: try OutboxHeaderCodec.decode(headers), payload: payload,
                disclosureID: disclosureID, isErasedOnceSettled: isErasedOnceSettled, derivation: derivation),
            createdAt: created)
    }

    /// How many outbox rows are recorded and neither published nor withheld, counting at most
    /// `limit` (the relay's backlog, for the operators' gauge; bounded so that counting a very
    /// long backlog stays cheap).
    package func pendingOutboxCount(limit: Int = 1_000_000) async throws(StorageError) -> Int {
        try await self.database.read { sql in
            try await sql.raw(
                """
                SELECT COUNT(*) AS n FROM (
                    SELECT 1 AS one FROM outbox_records o WHERE \(unsafeRaw: Self.isPendingOutboxRecord)
                    LIMIT \(unsafeRaw: String(max(0, limit)))) pending
                """
            ).first().map { try $0.decode(column: "n", as: Int.self) } ?? 0
        }
    }

    /// Marks rows published after their delivery reports arrived.
    package func markPublished(sequences: [Int64]) async throws(StorageError) {
        try await self.markPublished(sequences: sequences, positions: [])
    }

    /// Withholds a pending row (consent withdrawn since the decision, R5, or a copy too large
    /// for its cluster) and, if it carried a disclosure out (identified or anonymous), appends
    /// the withholding beside that disclosure (`appendWithholding`). A row settled before
    /// (published or withheld) stays as it is.
    package func markWithheld(sequence: Int64, reasonCode: String) async throws(StorageError) {
        let now = Date()
        try await self.database.transaction { sql in
            guard let row = try await Self.outboxRecord(sequence, sql) else {
                throw StorageError(.invalidBatch, "no outbox record with that sequence number")
            }
            guard sequence > (try await Self.settledThrough(sql)) else { return }
            let settled = try await self.database.bulkInsert(
                sql, into: "outbox_done", columns: Self.outboxDoneColumns,
                rows: [[.integer(sequence), .text("withheld"), .time(now), .text(reasonCode)]],
                ignoringConflicts: true, returning: "seq")
            guard !settled.isEmpty else { return }
            try await Self.appendWithholding(of: row, sequence: sequence, reasonCode: reasonCode, at: now, sql)
            try await self.eraseSettledRows(sql)
            try await self.advanceMarkOverSettled(sql)
        }
    }

    /// What `appendWithholding` reads of outbox record `sequence` (nil: no such record).
    private static func outboxRecord(_ sequence: Int64, _ sql: any SQLDatabase) async throws -> (any SQLRow)? {
        try await sql.raw(
            """
            SELECT o.disclosure_id, o.message_id, o.row_seq, o.headers FROM outbox_records o
            WHERE o.seq = \(bind: sequence) AND o.row_seq BETWEEN \(bind: sequence - Int64(Self.followersPerRow)) AND \(bind: sequence)
            """
        ).first()
    }

    /// Appends the withholding (`reasonCode`) of the disclosure that outbox record `sequence`
    /// (`row`, read by `outboxRecord`) carried out, if any, beside that disclosure; a disclosure
    /// withheld before keeps its first reason. An identified copy names its disclosure
    /// (`disclosure_id`; the withholding goes in `disclosure_withholdings`). An anonymous copy's
    /// row names none (R2), but its `ce_id` is its anonymous disclosure's id: a record of its
    /// own row whose `ce_id` is an anonymous disclosure of its message is that copy (its notice
    /// and receipt have ids of other forms), and the withholding goes in
    /// `anonymous_disclosure_withholdings`, which like `anonymous_disclosures` holds no person,
    /// consent or case reference. Until anonymous copies' refusals were recorded, their notices
    /// and receipts went out saying disclosed and anonymized (R4).
    private static func appendWithholding(
        of row: any SQLRow, sequence: Int64, reasonCode: String, at time: Date, _ sql: any SQLDatabase
    ) async throws {
        var table = "disclosure_withholdings"
        var disclosureID = try row.decode(column: "disclosure_id", as: String?.self)
        if disclosureID == nil {
            // Only a row's own record can be a copy (the records riding in it are notices and receipts).
            guard try row.decode(column: "row_seq", as: Int64.self) == sequence else { return }
            let messageID = try row.decode(column: "message_id", as: String.self)
            let headers = try OutboxHeaderCodec.decode(try row.decode(column: "headers", as: String.self))
            guard let id = headers.first(where: { $0.name == BridgeHeaders.id })?.value,
                case let copyID = String(decoding: id, as: UTF8.self),
                try await sql.raw(
                    """
                    SELECT 1 AS found FROM anonymous_disclosures
                    WHERE disclosure_id = \(bind: copyID) AND message_id = \(bind: messageID)
                    """
                ).first() != nil
            else { return }
            table = "anonymous_disclosure_withholdings"
            disclosureID = copyID
        }
        guard let disclosureID else { return }
        try await sql.insert(into: table)
            .columns("disclosure_id", "reason_code", "withheld_at")
            .values(SQLBind(disclosureID), SQLBind(reasonCode), SQLBind(StoreTime.string(from: time)))
            .ignoringConflicts()
            .run()
    }

    /// Settles pending rows the broker refused for what they are (`failed`, with the broker's
    /// error code), so they never block the rows behind them. A row settled before stays.
    ///
    /// A refused row that carried a disclosure out (an identified or an anonymous copy) was not
    /// disclosed: the withholding (`withholdingReason`) is appended beside that disclosure in the
    /// same transaction, as `markWithheld` does. Its notice and receipt may still be pending when
    /// the relay stops; after a restart they read the verdict from the store
    /// (`withholdingReasons`) and say withheld, never disclosed (R4).
    package func markFailed(sequences: [Int64], errorCode: String, withholdingReason: String)
        async throws(StorageError)
    {
        guard !sequences.isEmpty else { return }
        let now = Date()
        try await self.database.transaction { sql in
            let through = try await Self.settledThrough(sql)
            let settled = try await self.database.bulkInsert(
                sql, into: "outbox_done", columns: Self.outboxDoneColumns,
                rows: sequences.filter { $0 > through }.map {
                    [.integer($0), .text("failed"), .time(now), .text(errorCode)]
                },
                ignoringConflicts: true, returning: "seq")
            // Only rows this call settled: one published or withheld before keeps its verdict.
            // One lookup per row: refusals are rare.
            for case .integer(let sequence) in settled {
                guard let row = try await Self.outboxRecord(sequence, sql) else { continue }
                try await Self.appendWithholding(
                    of: row, sequence: sequence, reasonCode: withholdingReason, at: now, sql)
            }
            try await self.eraseSettledRows(sql)
            try await self.advanceMarkOverSettled(sql)
        }
    }

    /// How many outbox rows the broker refused (readiness and metrics report it).
    package func failedOutboxCount() async throws(StorageError) -> Int {
        try await self.database.read { sql in
            guard let row = try await sql.raw("SELECT COUNT(*) AS n FROM outbox_done WHERE status = 'failed'").first()
            else { return 0 }
            return Int(try row.decode(column: "n", as: Int64.self))
        }
    }

    /// The withholding reason of each of `disclosureIDs` (identified or anonymous) the relay
    /// withheld, or whose copy the broker refused (absent: neither).
    package func withholdingReasons(disclosureIDs: [String]) async throws(StorageError) -> [String: String] {
        guard !disclosureIDs.isEmpty else { return [:] }
        return try await self.database.read { sql in
            // One lookup per id: needed only for rows whose disclosure was decided on an earlier
            // page, so a handful at most.
            var reasons: [String: String] = [:]
            for id in Set(disclosureIDs) {
                let row = try await sql.raw(
                    """
                    SELECT reason_code FROM disclosure_withholdings WHERE disclosure_id = \(bind: id)
                    UNION ALL SELECT reason_code FROM anonymous_disclosure_withholdings WHERE disclosure_id = \(bind: id)
                    """
                ).first()
                if let row { reasons[id] = try row.decode(column: "reason_code", as: String.self) }
            }
            return reasons
        }
    }

    /// Ids of disclosures (identified or anonymous) the relay withheld, or whose copy the broker
    /// refused.
    package func withheldDisclosureIDs() async throws(StorageError) -> Set<String> {
        try await self.database.read { sql in
            Set(
                try await sql.raw(
                    """
                    SELECT disclosure_id FROM disclosure_withholdings
                    UNION ALL SELECT disclosure_id FROM anonymous_disclosure_withholdings
                    """
                ).all().map {
                    try $0.decode(column: "disclosure_id", as: String.self)
                })
        }
    }

    // MARK: Consent view

    /// Persists consent-view changes with the `health.consent` offsets they reach, in one
    /// transaction. An upsert with a lower version than the stored one is ignored.
    package func saveConsentView(upserts: [ConsentViewEntry], removals: [String], offsets: [ConsumerOffset])
        async throws(StorageError)
    {
        let now = StoreTime.string(from: Date())
        try await self.database.transaction { sql in
            for entry in upserts {
                try await sql.raw(
                    """
                    INSERT INTO consent_view (subject_key, consent_id, version, document, updated_at)
                    VALUES (\(bind: entry.subjectKey), \(bind: entry.consentID), \(bind: entry.version), \(bind: Data(entry.document)), \(bind: now))
                    ON CONFLICT (subject_key) DO UPDATE
                    SET consent_id = excluded.consent_id, version = excluded.version,
                        document = excluded.document, updated_at = excluded.updated_at
                    WHERE excluded.version >= consent_view.version
                    """
                ).run()
            }
            for chunk in removals.chunked(by: StoreSQL.rowsPerStatement) {
                try await sql.delete(from: "consent_view").where("subject_key", .in, Array(chunk)).run()
            }
            try await StoreSQL.advanceOffsets(sql, offsets, at: Date())
        }
    }

    /// Reads the persisted consent view in pages of `pageSize` rows, in key order, handing each
    /// page to `body` before the next is read (a national view never sits in memory twice: as
    /// rows and as the view), then returns the offsets it was built up to.
    ///
    /// Pages are read by key (`subject_key > last`), each in its own read: no page holds the
    /// database for long, and a concurrent writer only ever adds newer versions, which the view
    /// reading them later applies by the version rule.
    package func loadConsentView(
        consumerGroup: String, pageSize: Int, _ body: ([ConsentViewEntry]) throws -> Void
    ) async throws -> [ConsumerOffset] {
        var after = ""
        while true {
            let page = try await self.database.read { sql in
                try await sql.raw(
                    """
                    SELECT subject_key, consent_id, version, document FROM consent_view
                    WHERE subject_key > \(bind: after) ORDER BY subject_key LIMIT \(unsafeRaw: String(max(1, pageSize)))
                    """
                ).all().map(Self.decodeConsentViewRow)
            }
            guard let last = page.last else { break }
            try body(page)
            after = last.subjectKey
            if page.count < pageSize { break }
        }
        return try await self.database.read { sql in try await StoreSQL.offsets(sql, consumerGroup: consumerGroup) }
    }

    private static func decodeConsentViewRow(_ row: any SQLRow) throws -> ConsentViewEntry {
        ConsentViewEntry(
            subjectKey: try row.decode(column: "subject_key", as: String.self),
            consentID: try row.decode(column: "consent_id", as: String.self),
            version: try row.decode(column: "version", as: Int64.self),
            document: Array(try row.decode(column: "document", as: Data.self)))
    }

    /// Frees the connection's page cache (SQLite `PRAGMA shrink_memory`; nothing on
    /// PostgreSQL): after reading a national consent view once at start, the cache holds up to
    /// its 64 MiB of pages no decision needs.
    package func releaseCache() async {
        guard self.database.engine == .sqlite else { return }
        _ = try? await self.database.read { sql in try await sql.raw("PRAGMA shrink_memory").run() }
    }

    /// How many persons the persisted consent view holds.
    package func consentViewCount() async throws(StorageError) -> Int {
        try await self.database.read { sql in
            try await sql.raw("SELECT COUNT(*) AS n FROM consent_view").first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }
}

/// A bridge batch with its rows encoded (`BridgeStore.prepare`), ready to record.
package struct PreparedBridgeBatch: Sendable {
    /// The first message of each id in the batch.
    let rows: [MessageRows]
    /// The messages whose id came earlier in the batch.
    let repeated: [Repeat]
    let offsets: [ConsumerOffset]
    let createdAt: Date
    /// On PostgreSQL, the batch's statements, encoded with the rows.
    let postgres: PostgresBatchStatements?
    /// Builds a message again under its alternative id (see `BridgeStore.record`).
    let alternative: BridgeStore.AlternativeRecord?

    /// A message whose id came earlier in the batch.
    struct Repeat: Sendable {
        let position: Int
        let messageID: String
        let sourceTopic: String
        /// Of the same topic as the first (or nothing can record it under another id): skipped.
        let isSameEvent: Bool
    }

    /// Whether a message repeats the id of another topic's message earlier in the batch.
    var hasOtherTopicRepeats: Bool { repeated.contains { !$0.isSameEvent } }

    /// Messages to record (duplicates within the batch counted once).
    package var count: Int { rows.count }
}

/// One message's rows as bound values, built outside the transaction.
struct MessageRows: Sendable {
    static let decisionColumns = [
        "message_id", "source_topic", "partition_id", "source_offset", "ce_type", "outcome",
        "reason_code", "consent_id", "consent_version", "bridge_version", "decided_at",
    ]
    static let disclosureColumns = StoreSQL.disclosureColumns + ["message_id"]
    /// An anonymous forward's disclosure without the person, the consent or the case reference:
    /// the sending side's journal holds the link (R2); the bridge store records only that an
    /// anonymous copy of the message went out, and when.
    static let anonymousDisclosureColumns = [
        "disclosure_id", "message_id", "ce_type", "direction", "recipient_role", "recipient_organisation", "purpose",
        "disclosed_at", "bridge_version",
    ]
    /// An outbox row's columns; the first, `seq`, is bound when the row is inserted.
    static let outboxColumns =
        [
            "seq", "message_id", "disclosure_id", "topic", "kafka_key", "headers", "payload", "created_at",
            "erase_when_settled", "derived", "records",
        ]
        + (1...BridgeStore.followersPerRow).flatMap { number in
            ["topic", "key", "headers", "derived"].map { "follower\(number)_\($0)" }
        }
    static let rejectionColumns = [
        "message_id", "ce_type", "ce_source", "reason_code", "sealed_payload", "sealing_key_id", "received_at",
        "ce_time",
    ]

    /// The rows of `messages` for each table besides the decisions and the outbox (those
    /// with none left out), in an order that inserts parents first; the outbox, which names
    /// the disclosures, goes after them.
    static func tableRows(of messages: [MessageRows]) -> [(table: String, columns: [String], rows: [[StoreValue]])] {
        [
            ("disclosures", disclosureColumns, messages.flatMap(\.disclosures)),
            ("anonymous_disclosures", anonymousDisclosureColumns, messages.flatMap(\.anonymousDisclosures)),
            ("rejections", rejectionColumns, messages.compactMap(\.rejection)),
        ].filter { !$0.2.isEmpty }
    }

    var messageID: String
    /// Where the message is in its batch.
    var position: Int
    /// The topic it was consumed from.
    var sourceTopic: String
    var decision: [StoreValue]
    var disclosures: [[StoreValue]]
    var anonymousDisclosures: [[StoreValue]]
    var outbox: [OutboxRow]
    var rejection: [StoreValue]?

    /// The outbox records of the message (more than its rows: see `OutboxRow`).
    var recordCount: Int { outbox.reduce(0) { $0 + $1.records.count } }

    init(_ message: BridgeMessageRecord, createdAt: Date, position: Int = 0) throws(StorageError) {
        let decision = message.decision
        let messageID = decision.messageID
        self.messageID = messageID
        self.position = position
        self.sourceTopic = decision.sourceTopic
        self.decision = [
            .text(messageID), .text(decision.sourceTopic), .integer(Int64(decision.partition)),
            .integer(decision.offset), .text(decision.ceType), .text(decision.outcome.rawValue),
            .text(decision.reasonCode), .text(Self.keptConsentID(decision)),
            .integer(Self.keptConsentVersion(decision)),
            .text(decision.bridgeVersion), .time(decision.decidedAt),
        ]
        do {
            self.disclosures = try message.disclosures.filter { $0.form != Self.anonymousForm }.map {
                try StoreSQL.disclosureStoreValues($0) + [.text(messageID)]
            }
            self.anonymousDisclosures = message.disclosures.filter { $0.form == Self.anonymousForm }.map {
                [
                    .text($0.disclosureID), .text(messageID), .text($0.ceType), .text($0.direction),
                    .text($0.recipientRole),
                    .text($0.recipientOrganisation), .text($0.purpose), .time($0.disclosedAt), .text($0.bridgeVersion),
                ]
            }
        } catch {
            throw StorageError(.invalidBatch, "disclosure record could not be encoded", cause: error)
        }
        self.outbox = OutboxRow.rows(of: message.outbox, messageID: messageID, createdAt: createdAt)
        self.rejection = message.rejection.map { rejection in
            [
                .text(messageID), .text(rejection.ceType), .text(rejection.ceSource), .text(rejection.reasonCode),
                .bytes(rejection.sealedPayload), .text(rejection.sealingKeyID), .time(rejection.receivedAt),
                .text(rejection.ceTime),
            ]
        }
    }

    static let anonymousForm = "anonymous"

    /// The consent a decision is recorded under: none for an anonymous forward, whose consent
    /// would name the person behind an anonymous copy (the decision row carries the sender's id).
    static func keptConsentID(_ decision: DecisionRecord) -> String? {
        decision.outcome == .forwardAnonymous ? nil : decision.consentID
    }

    /// The consent version a decision is recorded under (see `keptConsentID`).
    static func keptConsentVersion(_ decision: DecisionRecord) -> Int64? {
        decision.outcome == .forwardAnonymous ? nil : decision.consentVersion
    }
}
