import Foundation
import SQLKit

extension BridgeStore {
    /// The offsets group under which the relay records how far it has published into each
    /// destination partition (next offset after the last record it knows it wrote).
    package static let relayPublishedGroup = "relay-published"

    /// Marks rows published and, in the same transaction, moves the relay's published
    /// positions forward (`positions`: next offset per destination partition, from the
    /// delivery reports). After a crash, anything published but not yet marked lies at or
    /// after these positions, so the relay can find it by reading back instead of sending it
    /// again (no duplicates in the destination topics).
    package func markPublished(sequences: [Int64], positions: [ConsumerOffset]) async throws(StorageError) {
        guard !sequences.isEmpty || !positions.isEmpty else { return }
        let now = Date()
        try await self.database.transaction { sql in
            _ = try await self.settle(sql, sequences, as: "published", at: now)
            try await StoreSQL.advanceOffsets(sql, positions, at: now)
        }
    }
}
