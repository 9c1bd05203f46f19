package import Foundation
import SQLKit

extension BridgeStore {
    /// Erases the sealed payloads of rejections received before `cutoff`, oldest first, at most
    /// `limit` in one transaction, and returns how many it erased (fewer than `limit`: none
    /// older is left).
    ///
    /// A rejection's payload is the origin side's confidential content, sealed with its key and
    /// kept only so that a redrive can decide it again once the patient consents (R9: each
    /// side's documentation stays in its own store). The row keeps its metadata (reason, type,
    /// times, the key id) for the operators' counts and trends, and records when its payload
    /// was erased, so a redrive can answer "expired" instead of "nothing to open".
    package func eraseSealedPayloads(receivedBefore cutoff: Date, limit: Int, now: Date = Date())
        async throws(StorageError) -> Int
    {
        guard limit > 0 else { return 0 }
        // Several instances share a PostgreSQL store, and each erases: one skips the rows
        // another is erasing (no waiting, no deadlock), and the outer condition, checked again
        // on a row that changed meanwhile, keeps a row from being erased (and counted) twice.
        let skipLocked = self.database.engine == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
        return try await self.database.transaction { sql in
            // `rejections_sealed_by_time` (a partial index) finds the oldest kept payloads.
            try await sql.raw(
                """
                UPDATE rejections SET sealed_payload = NULL, sealed_payload_erased_at = \(bind: StoreTime.string(from: now))
                WHERE sealed_payload IS NOT NULL AND message_id IN (
                    SELECT message_id FROM rejections
                    WHERE sealed_payload IS NOT NULL AND received_at < \(bind: StoreTime.string(from: cutoff))
                    ORDER BY received_at LIMIT \(unsafeRaw: String(limit))\(unsafeRaw: skipLocked))
                RETURNING message_id
                """
            ).all().count
        }
    }
}
