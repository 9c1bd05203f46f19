import SQLKit

/// A bridge batch's PostgreSQL statements, encoded by `BridgeStore.prepare` before its
/// transaction, which then only sends them.
///
/// Encoding a batch's columns was most of the store thread's work inside the transaction, and
/// the server waited for it (client and server take turns, statement by statement). Prepared
/// with the rows, it overlaps the previous batch's transaction instead. The statements assume
/// every message of the batch is new; the decisions' insert says whether that held, and when
/// it did not (a redelivery after a crash), the rows of the new messages are encoded again.
struct PostgresBatchStatements: Sendable {
    /// The decisions' insert, skipping messages already recorded: how many went in, and which
    /// when not all did (`PostgresBulkInsert.insertSkippingStored`).
    let decisions: SQLQueryString
    /// The disclosures', anonymous disclosures' and rejections' inserts (those with rows).
    let rows: [SQLQueryString]
    /// The outbox rows' insert; nil when the batch has none.
    let outbox: NumberedOutboxInsert?

    /// The statements of `messages`; nil when there are none.
    init?(_ messages: [MessageRows]) throws(StorageError) {
        guard !messages.isEmpty else { return nil }
        self.decisions = try PostgresBulkInsert.insertSkippingStored(
            into: "decisions", columns: MessageRows.decisionColumns, rows: messages.map(\.decision))
        var rows: [SQLQueryString] = []
        for (table, columns, values) in MessageRows.tableRows(of: messages) {
            for chunk in values.chunked(by: PostgresBulkInsert.rowsPerStatement) {
                rows.append(
                    try PostgresBulkInsert.statement(
                        into: table, columns: columns, rows: Array(chunk), ignoringConflicts: false, returning: nil))
            }
        }
        self.rows = rows
        self.outbox = try NumberedOutboxInsert(messages.flatMap(\.outbox))
    }
}

/// Outbox rows inserted and numbered by one PostgreSQL statement: it takes the outbox's
/// transaction lock, then the numbers (a row as many as it has records, in the order given),
/// then inserts (`PostgresBulkInsert.numberedInsert`). Lock, numbers and insert were three
/// round trips; and since each row's offset from the first number is known beforehand, the
/// statement is encoded before the transaction.
struct NumberedOutboxInsert: Sendable {
    let statement: SQLQueryString
    /// Each row's number minus the first number.
    let offsets: [Int64]

    /// The insert of `rows`; nil when there are none.
    init?(_ rows: [OutboxRow]) throws(StorageError) {
        guard !rows.isEmpty else { return nil }
        let (values, offsets, count) = OutboxRow.numbered(rows, from: 0)
        self.offsets = offsets
        self.statement = try PostgresBulkInsert.numberedInsert(
            into: "outbox", columns: MessageRows.outboxColumns, rows: values,
            sequence: "pg_get_serial_sequence('outbox', 'seq')", count: Int(count), lock: BridgeStore.outboxWriteLock)
    }

    /// Inserts the rows and returns each row's number (its first record's sequence number).
    func run(_ sql: any SQLDatabase) async throws -> [Int64] {
        guard let result = try await sql.raw(self.statement).first() else {
            throw StorageError(.queryFailed, "the outbox insert returned no numbers")
        }
        let first = try result.decode(column: "first", as: Int64.self)
        let inserted = try result.decode(column: "inserted", as: Int64.self)
        guard inserted == self.offsets.count else {
            throw StorageError(.queryFailed, "the outbox insert stored \(inserted) of \(self.offsets.count) rows")
        }
        return self.offsets.map { first + $0 }
    }
}
