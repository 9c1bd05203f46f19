package import ConsentStorage
package import Foundation
import SQLKit

/// One stored outbox row's content, as tests of the bridge store's erasing read it (R9).
package struct StoredOutboxContent: Sendable {
    /// The row's number (its first record's).
    package var sequence: Int64
    /// How many records the row carries.
    package var records: Int64
    /// The row's own record's payload.
    package var payload: Data
    /// The Kafka keys of the row's records: its own, then its followers'.
    package var keys: [Data?]
    /// The row's own record's headers, in their stored form.
    package var headers: String

    /// Whether the row keeps nothing of what it carried: no payload, no key, and none of the
    /// relay's re-check headers (the person, the consent's categories).
    package var isErased: Bool {
        payload.isEmpty && keys.allSatisfy { $0 == nil } && !headers.contains(BridgeStore.internalHeadersMarker)
    }
}

extension BridgeStore {
    /// Every outbox row's content, in sequence order, read straight from the table.
    package func storedOutboxContent() async throws -> [StoredOutboxContent] {
        try await self.database.read { sql in
            try await sql.raw(
                "SELECT seq, records, payload, kafka_key, follower1_key, follower2_key, headers FROM outbox ORDER BY seq"
            ).all().map { row in
                StoredOutboxContent(
                    sequence: try row.decode(column: "seq", as: Int64.self),
                    records: try row.decode(column: "records", as: Int64.self),
                    payload: try row.decode(column: "payload", as: Data.self),
                    keys: try ["kafka_key", "follower1_key", "follower2_key"].map {
                        try row.decode(column: $0, as: Data?.self)
                    },
                    headers: try row.decode(column: "headers", as: String.self))
            }
        }
    }
}
