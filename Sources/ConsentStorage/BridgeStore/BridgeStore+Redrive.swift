package import Foundation
import SQLKit

/// A rejection as the redrive needs it: its metadata and where the message came from.
package struct StoredRejection: Sendable, Hashable {
    package var rejection: RejectionRecord
    package var decision: DecisionRecord
    /// When an earlier redrive let it through, the outcome of that redrive.
    package var redrivenOutcome: DecisionRecord.Outcome?
    /// When its sealed payload was erased at the end of its retention (`eraseSealedPayloads`).
    package var sealedPayloadErasedAt: Date? = nil
}

extension BridgeStore {
    /// A rejection with its decision, or `nil` when no rejection has that message id.
    package func storedRejection(messageID: String) async throws(StorageError) -> StoredRejection? {
        let row: (any SQLRow)? = try await self.database.read { sql in
            try await sql.raw(
                """
                SELECT r.*, x.outcome AS redriven_outcome FROM rejections r
                LEFT JOIN redrives x ON x.message_id = r.message_id
                WHERE r.message_id = \(bind: messageID)
                """
            ).first()
        }
        guard let row else { return nil }
        guard let decision = try await self.decision(messageID: messageID) else {
            throw StorageError(.corruptRow, "rejection has no decision row")
        }
        do {
            let redriven = try row.decode(column: "redriven_outcome", as: String?.self)
            return StoredRejection(
                rejection: try Self.decodeRejection(row), decision: decision,
                redrivenOutcome: redriven.flatMap(DecisionRecord.Outcome.init(rawValue:)),
                sealedPayloadErasedAt: try StoreTime.date(
                    orNil: row.decode(column: "sealed_payload_erased_at", as: String?.self),
                    column: "sealed_payload_erased_at"))
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(.corruptRow, "rejection row is not readable", cause: error)
        }
    }

    /// Records that a redrive let a rejected message through: the redrive row, the disclosures
    /// and the outbox rows of `message`, in one transaction. Returns the outbox rows written,
    /// or `nil` if the message had already been redriven (nothing is written then).
    package func recordRedrive(_ message: BridgeMessageRecord) async throws(StorageError) -> [StoredOutboxRow]? {
        let decision = message.decision
        guard decision.outcome != .reject else {
            throw StorageError(.invalidBatch, "a redrive that rejects again records nothing")
        }
        let now = Date()
        let rows = try MessageRows(message, createdAt: now)
        return try await self.database.transaction { sql -> [StoredOutboxRow]? in
            let inserted = try await self.database.bulkInsert(
                sql, into: "redrives",
                columns: ["message_id", "outcome", "consent_id", "consent_version", "redriven_at"],
                rows: [
                    [
                        .text(decision.messageID), .text(decision.outcome.rawValue),
                        .text(MessageRows.keptConsentID(decision)),
                        .integer(MessageRows.keptConsentVersion(decision)), .time(now),
                    ]
                ],
                ignoringConflicts: true, returning: "message_id")
            if inserted.isEmpty { return nil }
            _ = try await self.database.bulkInsert(
                sql, into: "disclosures", columns: MessageRows.disclosureColumns, rows: rows.disclosures)
            _ = try await self.database.bulkInsert(
                sql, into: "anonymous_disclosures", columns: MessageRows.anonymousDisclosureColumns,
                rows: rows.anonymousDisclosures)
            return try await self.insertOutbox(sql, rows.outbox, createdAt: now)
        }
    }

    /// Inserts outbox rows (pending: above the settled mark) and returns their records with
    /// their sequence numbers, in publish order.
    func insertOutbox(_ sql: any SQLDatabase, _ outbox: [OutboxRow], createdAt: Date) async throws
        -> [StoredOutboxRow]
    {
        let sequences = try await self.insertOutboxRows(sql, outbox)
        return zip(sequences, outbox).flatMap { first, row in
            row.records.enumerated().map { index, record in
                StoredOutboxRow(
                    sequence: first + Int64(index), messageID: row.messageID, record: record, createdAt: createdAt)
            }
        }
    }

    /// Numbers and inserts outbox rows, and returns each row's number (its first record's
    /// sequence number; record `k` of the row has the number + `k`), in row order.
    ///
    /// The store numbers the rows itself, leaving each row as many numbers as it has records,
    /// in the order given. On PostgreSQL several bridge instances share the store, so first the
    /// transaction takes the outbox's transaction lock (held until it commits): numbers are
    /// then taken, and rows committed, in sequence order across instances, as they are with one
    /// writer. The relay's settled-through mark and its "a store read covers everything
    /// committed before it" both rest on that: a row with a lower number committed after a
    /// higher one could otherwise fall below the mark unpublished.
    func insertOutboxRows(_ sql: any SQLDatabase, _ rows: [OutboxRow]) async throws -> [Int64] {
        if self.database.engine == .postgres {
            // Lock, numbers and rows in one statement (`NumberedOutboxInsert`).
            return try await NumberedOutboxInsert(rows)?.run(sql) ?? []
        }
        guard !rows.isEmpty else { return [] }
        let numbers = OutboxRow.numbers(of: rows, from: try await self.firstFreeSequenceNumber(sql))
        _ = try await self.database.bulkInsert(
            sql, into: "outbox", columns: MessageRows.outboxColumns, rows: rows.map(\.values),
            firstColumn: numbers.map { .integer($0) })
        return numbers
    }

    /// On SQLite (one writer, so the write lock is held): the first sequence number no record
    /// has, above every record's.
    private func firstFreeSequenceNumber(_ sql: any SQLDatabase) async throws -> Int64 {
        let after = try await sql.raw("SELECT seq + records AS next FROM outbox ORDER BY seq DESC LIMIT 1").first()?
            .decode(column: "next", as: Int64.self)
        return max(after ?? 1, try await Self.settledThrough(sql) + 1)
    }
}
