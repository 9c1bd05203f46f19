package import Foundation
import SQLKit

/// Which rejections an operator asks for: every condition given must hold.
package struct RejectionQuery: Sendable, Hashable {
    /// Reason codes (any of them); empty: every reason.
    package var reasonCodes: [String] = []
    /// The stored (operator-safe) `ce_type`.
    package var ceType: String?
    /// The topics the message may have been consumed from (the caller maps a direction to
    /// them); empty: any.
    package var sourceTopics: [String] = []
    /// Received at or after.
    package var from: Date?
    /// Received before.
    package var until: Date?

    /// Creates a query (no condition: every rejection).
    package init(
        reasonCodes: [String] = [], ceType: String? = nil, sourceTopics: [String] = [], from: Date? = nil,
        until: Date? = nil
    ) {
        self.reasonCodes = reasonCodes
        self.ceType = ceType
        self.sourceTopics = sourceTopics
        self.from = from
        self.until = until
    }
}

/// What an operator may see of one rejected message: ids, type, reason, position and time;
/// never its content (the payload stays sealed and is not even read).
package struct RejectionSummary: Sendable, Hashable {
    /// The rejected message's id (the sender's `ce_id`, or its position for a broken envelope).
    package var messageID: String
    /// The operator-safe `ce_type` (a digest for unknown types).
    package var ceType: String?
    /// `ce_source` (checked before it was stored: no identifiers).
    package var ceSource: String?
    /// Reason code.
    package var reasonCode: String
    /// When the bridge received it.
    package var receivedAt: Date
    /// The topic, partition and offset it was consumed at.
    package var sourceTopic: String
    package var partition: Int
    package var offset: Int64
    /// Whether a sealed copy is kept (not for `too-large`, nor once its retention ended).
    package var isSealed: Bool
    /// The outcome of the redrive that let it through, if one did (`forward`, `forward-anonymous`).
    package var redrivenOutcome: String?
    /// When its sealed copy was erased at the end of its retention, if it was.
    package var sealedPayloadErasedAt: Date?

    /// Creates a summary.
    package init(
        messageID: String, ceType: String?, ceSource: String?, reasonCode: String, receivedAt: Date,
        sourceTopic: String, partition: Int,
        offset: Int64, isSealed: Bool, redrivenOutcome: String?, sealedPayloadErasedAt: Date? = nil
    ) {
        self.messageID = messageID
        self.ceType = ceType
        self.ceSource = ceSource
        self.reasonCode = reasonCode
        self.receivedAt = receivedAt
        self.sourceTopic = sourceTopic
        self.partition = partition
        self.offset = offset
        self.isSealed = isSealed
        self.redrivenOutcome = redrivenOutcome
        self.sealedPayloadErasedAt = sealedPayloadErasedAt
    }
}

/// How finely rejection counts are grouped in time.
package enum RejectionBucket: String, Sendable, CaseIterable {
    case minute, hour, day

    /// Characters of the stored time (`2026-11-23T16:12:19.123Z`) that name the bucket.
    var prefixLength: Int {
        switch self {
        case .minute: 16
        case .hour: 13
        case .day: 10
        }
    }
}

/// Rejections in one time bucket with one reason.
package struct RejectionCount: Sendable, Hashable {
    /// The bucket's start as stored text, cut to the bucket (`2026-11-23T16` for an hour).
    package var bucket: String
    package var reasonCode: String
    package var count: Int
}

extension BridgeStore {
    /// A page of rejections matching `query`, newest first, and how many match in all.
    package func rejectionSummaries(_ query: RejectionQuery, limit: Int, offset: Int) async throws(StorageError) -> (
        total: Int, items: [RejectionSummary]
    ) {
        let condition = Self.condition(query)
        return try await self.database.read { sql in
            let total =
                try await sql.raw(
                    """
                    SELECT COUNT(*) AS n FROM rejections r JOIN decisions d ON d.message_id = r.message_id WHERE \(condition)
                    """
                ).first().map { try $0.decode(column: "n", as: Int.self) } ?? 0
            let rows = try await sql.raw(
                """
                \(unsafeRaw: Self.summarySelect)
                WHERE \(condition)
                ORDER BY r.received_at DESC, r.message_id DESC
                LIMIT \(unsafeRaw: String(max(0, limit))) OFFSET \(unsafeRaw: String(max(0, offset)))
                """
            ).all()
            return (total, try rows.map(Self.decodeSummary))
        }
    }

    /// One rejection's summary, if `messageID` was rejected.
    package func rejectionSummary(messageID: String) async throws(StorageError) -> RejectionSummary? {
        try await self.database.read { sql in
            try await sql.raw(
                """
                \(unsafeRaw: Self.summarySelect)
                WHERE r.message_id = \(bind: messageID)
                """
            ).first().map(Self.decodeSummary)
        }
    }

    /// Rejections matching `query`, counted per time bucket and reason, oldest bucket first.
    package func rejectionCounts(_ query: RejectionQuery, per bucket: RejectionBucket) async throws(StorageError)
        -> [RejectionCount]
    {
        let condition = Self.condition(query)
        let length = String(bucket.prefixLength)
        return try await self.database.read { sql in
            try await sql.raw(
                """
                SELECT substr(r.received_at, 1, \(unsafeRaw: length)) AS bucket, r.reason_code, COUNT(*) AS n
                FROM rejections r JOIN decisions d ON d.message_id = r.message_id
                WHERE \(condition)
                GROUP BY substr(r.received_at, 1, \(unsafeRaw: length)), r.reason_code
                ORDER BY bucket, r.reason_code
                """
            ).all().map {
                RejectionCount(
                    bucket: try $0.decode(column: "bucket", as: String.self),
                    reasonCode: try $0.decode(column: "reason_code", as: String.self),
                    count: try $0.decode(column: "n", as: Int.self))
            }
        }
    }

    /// What a summary reads: the rejection, its decision's position, a redrive if any.
    private static let summarySelect = """
        SELECT r.message_id, r.ce_type, r.ce_source, r.reason_code, r.received_at,
               CASE WHEN r.sealed_payload IS NULL THEN 0 ELSE 1 END AS sealed, r.sealed_payload_erased_at,
               d.source_topic, d.partition_id, d.source_offset, x.outcome AS redriven
        FROM rejections r JOIN decisions d ON d.message_id = r.message_id
        LEFT JOIN redrives x ON x.message_id = r.message_id
        """

    private static func condition(_ query: RejectionQuery) -> SQLQueryString {
        var parts: [SQLQueryString] = ["1 = 1"]
        if !query.reasonCodes.isEmpty {
            let codes = query.reasonCodes.map { code -> SQLQueryString in "\(bind: code)" }.joined(separator: ", ")
            parts.append("r.reason_code IN (\(codes))")
        }
        if let type = query.ceType { parts.append("r.ce_type = \(bind: type)") }
        if !query.sourceTopics.isEmpty {
            let topics = query.sourceTopics.map { topic -> SQLQueryString in "\(bind: topic)" }.joined(separator: ", ")
            parts.append("d.source_topic IN (\(topics))")
        }
        if let from = query.from { parts.append("r.received_at >= \(bind: StoreTime.string(from: from))") }
        if let until = query.until { parts.append("r.received_at < \(bind: StoreTime.string(from: until))") }
        return parts.joined(separator: " AND ")
    }

    private static func decodeSummary(_ row: any SQLRow) throws -> RejectionSummary {
        guard let receivedAt = StoreTime.date(from: try row.decode(column: "received_at", as: String.self)) else {
            throw StorageError(.corruptRow, "rejection row has an unreadable time")
        }
        return RejectionSummary(
            messageID: try row.decode(column: "message_id", as: String.self),
            ceType: try row.decode(column: "ce_type", as: String?.self),
            ceSource: try row.decode(column: "ce_source", as: String?.self),
            reasonCode: try row.decode(column: "reason_code", as: String.self),
            receivedAt: receivedAt,
            sourceTopic: try row.decode(column: "source_topic", as: String.self),
            partition: try row.decode(column: "partition_id", as: Int.self),
            offset: try row.decode(column: "source_offset", as: Int64.self),
            isSealed: try row.decode(column: "sealed", as: Int.self) != 0,
            redrivenOutcome: try row.decode(column: "redriven", as: String?.self),
            sealedPayloadErasedAt: try StoreTime.date(
                orNil: row.decode(column: "sealed_payload_erased_at", as: String?.self),
                column: "sealed_payload_erased_at"))
    }
}
