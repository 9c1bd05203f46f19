import Foundation

/// One stored outbox row: a record, the derived records that ride in it (its followers), and
/// the row's bound values (`MessageRows.outboxColumns`).
///
/// An identified copy's disclosure notice and the message's receipt repeat what the decision
/// records anyway (`OutboxPayloadDerivation`), so they need no row of their own: they are
/// stored as a topic, a key and headers in the copy's row, and a referral is one row instead
/// of three. The record stays the unit of publishing: record `k` of the row numbered `seq`
/// has the sequence number `seq + k`, and is settled, withheld or recovered on its own.
struct OutboxRow: Sendable {
    var messageID: String
    /// The records the row carries, in publish order: its own, then its followers.
    var records: [OutboxRecord]
    /// The bound values; the first, `seq`, is `.null` until the row is numbered.
    var values: [StoreValue]

    /// `records` (one message's, in publish order) as stored rows: each derived record rides
    /// in the row just before it when that row is an identified copy with room left (so the
    /// order of the records, and of their sequence numbers, is the order given).
    static func rows(of records: [OutboxRecord], messageID: String, createdAt: Date) -> [OutboxRow] {
        var grouped: [[OutboxRecord]] = []
        for record in records {
            if record.derivation != nil, let last = grouped.indices.last, Self.carriesFollowers(grouped[last]) {
                grouped[last].append(record)
            } else {
                grouped.append([record])
            }
        }
        let created = StoreValue.time(createdAt)
        return grouped.map { records in
            let own = records[0]
            // Appended one by one into room made once (array literals added were an allocation each).
            var values: [StoreValue] = []
            values.reserveCapacity(MessageRows.outboxColumns.count)
            values.append(.null)
            values.append(.text(messageID))
            values.append(.text(own.disclosureID))
            values.append(.text(own.topic))
            values.append(.bytes(own.key))
            values.append(.text(OutboxHeaderCodec.encode(own.headers)))
            values.append(.bytes(own.derivation == nil ? own.payload : []))
            values.append(created)
            values.append(.integer(own.isErasedOnceSettled ? 1 : 0))
            values.append(.text(own.derivation?.rawValue))
            values.append(.integer(Int64(records.count)))
            for index in 1...BridgeStore.followersPerRow {
                guard index < records.count else {
                    for _ in 0..<4 { values.append(.null) }
                    continue
                }
                let follower = records[index]
                values.append(.text(follower.topic))
                values.append(.bytes(follower.key))
                values.append(.text(OutboxHeaderCodec.encode(follower.headers)))
                values.append(.text(follower.derivation?.rawValue))
            }
            return OutboxRow(messageID: messageID, records: records, values: values)
        }
    }

    /// The bound values of `rows` numbered from `first` (each row takes as many numbers as it
    /// has records), each row's number, and the number after the last row's records.
    static func numbered(_ rows: [OutboxRow], from first: Int64) -> (
        values: [[StoreValue]], numbers: [Int64], next: Int64
    ) {
        let numbers = numbers(of: rows, from: first)
        let values = zip(rows, numbers).map { row, number in
            var bound = row.values
            bound[0] = .integer(number)
            return bound
        }
        return (values, numbers, (numbers.last ?? first) + Int64(rows.last?.records.count ?? 0))
    }

    /// Each row's number when `rows` are numbered from `first` (each row takes as many numbers
    /// as it has records), without binding values (SQLite binds them apart: `bulkInsert`'s
    /// `firstColumn`).
    static func numbers(of rows: [OutboxRow], from first: Int64) -> [Int64] {
        var numbers: [Int64] = []
        numbers.reserveCapacity(rows.count)
        var next = first
        for row in rows {
            numbers.append(next)
            next += Int64(row.records.count)
        }
        return numbers
    }

    /// Whether derived records may ride in the row of `records`: an identified copy (its
    /// payload stored, its disclosure re-checked) with room left. The one row that is erased
    /// once settled never carries others.
    private static func carriesFollowers(_ records: [OutboxRecord]) -> Bool {
        let own = records[0]
        return records.count <= BridgeStore.followersPerRow && own.disclosureID != nil && own.derivation == nil
            && !own.isErasedOnceSettled
    }
}
