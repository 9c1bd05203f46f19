package import Foundation
import SQLKit

/// How many copies the bridge sent, or holds, for one recipient system's inbound topic in one
/// state (docs/rules.md R9): what operators see per destination. Counts only, no content.
package struct DeliveryCount: Sendable, Hashable {
    /// The destination (an inbound topic, as configured).
    package var destinationTopic: String
    /// `identified` (a disclosure, re-checked before publishing) or `anonymous` (R2).
    package var form: String
    /// `pending`, `published`, `withheld` (consent changed since the decision, R5) or `failed`
    /// (refused by the broker for what it is).
    package var status: String
    package var count: Int

    /// Creates a count.
    package init(destinationTopic: String, form: String, status: String, count: Int) {
        self.destinationTopic = destinationTopic
        self.form = form
        self.status = status
        self.count = count
    }
}

extension BridgeStore {
    /// The copies for `destinations` decided in [`from`, `until`), counted per destination,
    /// form and status.
    ///
    /// A copy is an outbox row's own record on a destination topic (records derived from a copy
    /// ride in its row, on other topics): identified copies carry their disclosure id, anonymous
    /// ones none. The status is the record's (as `outbox_status` spells it out). This reads the
    /// whole outbox in the window (no index on time or topic: each would cost every event a
    /// write on the hot path for a query operators run now and then).
    package func deliveryCounts(destinations: [String], from: Date? = nil, until: Date? = nil)
        async throws(StorageError) -> [DeliveryCount]
    {
        guard !destinations.isEmpty else { return [] }
        var conditions: [SQLQueryString] = [
            "o.topic IN (\(destinations.map { topic -> SQLQueryString in "\(bind: topic)" }.joined(separator: ", ")))"
        ]
        if let from { conditions.append("o.created_at >= \(bind: StoreTime.string(from: from))") }
        if let until { conditions.append("o.created_at < \(bind: StoreTime.string(from: until))") }
        let condition = conditions.joined(separator: " AND ")
        return try await self.database.read { sql in
            try await sql.raw(
                """
                SELECT o.topic AS topic,
                       CASE WHEN o.disclosure_id IS NULL THEN 'anonymous' ELSE 'identified' END AS form,
                       COALESCE(d.status, CASE WHEN o.seq <= p.settled_through THEN 'published' ELSE 'pending' END)
                           AS status,
                       COUNT(*) AS n
                FROM outbox o CROSS JOIN outbox_progress p LEFT JOIN outbox_done d ON d.seq = o.seq
                WHERE \(condition)
                GROUP BY 1, 2, 3
                ORDER BY 1, 2, 3
                """
            ).all().map {
                DeliveryCount(
                    destinationTopic: try $0.decode(column: "topic", as: String.self),
                    form: try $0.decode(column: "form", as: String.self),
                    status: try $0.decode(column: "status", as: String.self),
                    count: try $0.decode(column: "n", as: Int.self))
            }
        }
    }
}
