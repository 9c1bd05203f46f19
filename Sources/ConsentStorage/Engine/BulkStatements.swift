import Foundation
import SQLKit

/// A value bound into (or read from) a statement.
///
/// SQLKit encodes every bound value through `Encodable` and an existential per value; for the
/// thousands of values of one bridge batch that cost more than SQLite's own work. On SQLite the
/// bulk statements therefore go straight to the connection's prepared statements with these
/// values; on PostgreSQL they still go through SQLKit.
enum StoreValue: Sendable, Equatable {
    case text(String)
    case integer(Int64)
    case real(Double)
    case bytes([UInt8])
    case null

    static func text(_ value: String?) -> StoreValue { value.map { .text($0) } ?? .null }
    static func integer(_ value: Int64?) -> StoreValue { value.map { .integer($0) } ?? .null }
    static func bytes(_ value: [UInt8]?) -> StoreValue { value.map { .bytes($0) } ?? .null }
    static func time(_ date: Date) -> StoreValue { .text(StoreTime.string(from: date)) }

    var sqlExpression: any SQLExpression {
        switch self {
        case .text(let value): SQLBind(value)
        case .integer(let value): SQLBind(value)
        case .real(let value): SQLBind(value)
        case .bytes(let value): SQLBind(Data(value))
        case .null: SQLLiteral.null
        }
    }
}

extension StoreDatabase {
    /// Inserts `rows` on the connection of the caller's transaction. With `ignoringConflicts`,
    /// rows that hit a unique key are skipped. Returns the `returning` column of the inserted
    /// rows as integers or texts, in row order: one of `columns`, or the table's `INTEGER
    /// PRIMARY KEY` (its rowid).
    ///
    /// SQLite: one prepared single-row INSERT, stepped per row (prepared once per connection,
    /// not parsed again per batch), without `RETURNING`: SQLite runs a `RETURNING` clause as a
    /// sub-program per row, measured at ~2 µs and a dozen allocations each (a third of an
    /// outbox row's insert). Whether a row went in is `sqlite3_changes`, its rowid
    /// `sqlite3_last_insert_rowid`, and any other column is the value just bound.
    /// PostgreSQL: one `INSERT … SELECT … FROM UNNEST` per 5,000 rows, each column bound once
    /// as an array (`PostgresBulkInsert`).
    ///
    /// `firstColumn`, when given, holds row *i*'s value of the first column in place of the
    /// one in `rows[i]`: rows built before their numbers were known (outbox rows) are bound as
    /// they are instead of copied to set one value.
    func bulkInsert(
        _ sql: any SQLDatabase, into table: String, columns: [String], rows: [[StoreValue]],
        firstColumn: [StoreValue]? = nil, ignoringConflicts: Bool = false, returning: String? = nil
    ) async throws -> [StoreValue] {
        guard !rows.isEmpty else { return [] }
        precondition(
            firstColumn.map { $0.count == rows.count } ?? true, "bulk insert first column has the wrong length")
        if let firstColumn, self.sqliteHandle == nil {
            // PostgreSQL encodes every value again anyway: set them in copies.
            let numbered = zip(rows, firstColumn).map { row, first in [first] + row.dropFirst() }
            return try await bulkInsert(
                sql, into: table, columns: columns, rows: numbered, ignoringConflicts: ignoringConflicts,
                returning: returning)
        }
        guard let sqlite = self.sqliteHandle else {
            var returned: [StoreValue] = []
            for chunk in rows.chunked(by: PostgresBulkInsert.rowsPerStatement) {
                precondition(
                    chunk.allSatisfy { $0.count == columns.count }, "bulk insert row has the wrong number of values")
                let statement = try PostgresBulkInsert.statement(
                    into: table, columns: columns, rows: Array(chunk), ignoringConflicts: ignoringConflicts,
                    returning: returning)
                guard let returning else {
                    try await sql.raw(statement).run()
                    continue
                }
                for row in try await sql.raw(statement).all() {
                    if let integer = try? row.decode(column: returning, as: Int64.self) {
                        returned.append(.integer(integer))
                    } else {
                        returned.append(.text(try row.decode(column: returning, as: String.self)))
                    }
                }
            }
            return returned
        }
        var statement = "INSERT INTO \(table) (\(columns.joined(separator: ","))) VALUES ("
        statement += Array(repeating: "?", count: columns.count).joined(separator: ",") + ")"
        if ignoringConflicts { statement += " ON CONFLICT DO NOTHING" }
        let prepared = try sqlite.prepared(statement)
        defer { prepared.release() }
        // The bound value to return, or nil for the rowid.
        let returnedColumn = returning.flatMap { columns.firstIndex(of: $0) }
        var returned: [StoreValue] = []
        if returning != nil { returned.reserveCapacity(rows.count) }
        for (index, row) in rows.enumerated() {
            precondition(row.count == columns.count, "bulk insert row has the wrong number of values")
            try prepared.start(row, first: firstColumn?[index])
            while try prepared.step() {}
            guard returning != nil, prepared.changedRows == 1 else { continue }
            guard let returnedColumn else {
                returned.append(.integer(prepared.lastInsertedRowID))
                continue
            }
            let value = returnedColumn == 0 ? firstColumn?[index] ?? row[0] : row[returnedColumn]
            switch value {
            case .integer, .text: returned.append(value)
            default: throw StorageError(.corruptRow, "bulk insert returned an unexpected value type")
            }
        }
        return returned
    }
}
