import Foundation
import SQLKit

/// A rejection as the redrive needs it: its metadata and where the message came from.
package struct StoredRejection: Sendable, Hashable {
    package var rejection: RejectionRecord
    package var decision: DecisionRecord
    /// When an earlier redrive let it through, the outcome of that redrive.
    package var redrivenOutcome: DecisionRecord.Outcome?
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
                redrivenOutcome: redriven.flatMap(DecisionRecord.Outcome.init(rawValue:)))
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

    /// Inserts outbox rows (pending: above the settled mark) and returns them with their sequence numbers.
    ///
    /// Sequence numbers are assigned in row order on both engines; sorting what RETURNING
    /// gives back pairs each with its row whatever order it comes back in.
    ///
    /// On PostgreSQL several bridge instances share the store, so first the transaction takes
    /// the outbox's transaction lock (held until it commits): outbox rows are then committed in
    /// sequence order across instances, as they are with one writer. The relay's settled-through
    /// mark and its "a store read covers everything committed before it" both rest on that: a
    /// row with a lower number committed after a higher one could otherwise fall below the mark
    /// unpublished.
    func insertOutbox(_ sql: any SQLDatabase, _ outbox: [MessageRows.OutboxRow], createdAt: Date) async throws
        -> [StoredOutboxRow]
    {
        let sequences = try await self.insertOutboxRows(sql, outbox.map(\.values))
        return zip(sequences, outbox).map {
            StoredOutboxRow(sequence: $0.0, messageID: $0.1.messageID, record: $0.1.record, createdAt: createdAt)
        }
    }

    /// Inserts outbox rows from their bound values (`MessageRows.outboxColumns`) and returns
    /// their sequence numbers, in row order (see `insertOutbox`).
    func insertOutboxRows(_ sql: any SQLDatabase, _ values: [[StoreValue]]) async throws -> [Int64] {
        if self.isShared, !values.isEmpty {
            try await sql.raw("SELECT pg_advisory_xact_lock(\(unsafeRaw: String(Self.outboxWriteLock)))").run()
        }
        let sequences = try await self.database.bulkInsert(
            sql, into: "outbox", columns: MessageRows.outboxColumns, rows: values, returning: "seq"
        ).compactMap { value -> Int64? in
            if case .integer(let sequence) = value { return sequence }
            return nil
        }.sorted()
        guard sequences.count == values.count else {
            throw StorageError(
                .queryFailed, "outbox insert returned \(sequences.count) sequence numbers for \(values.count) rows")
        }
        return sequences
    }
}
