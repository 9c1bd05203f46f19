import Foundation
import SQLKit
import SQLiteKit

/// A value bound into the bulk statements of the bridge's hot path.
///
/// SQLKit encodes every bound value through `Encodable` and an existential per value; for the
/// thousands of values of one bridge batch that cost more than SQLite's own work. On SQLite the
/// bulk statements therefore go straight to SQLiteNIO with these values; on PostgreSQL they
/// still go through SQLKit.
enum StoreValue: Sendable, Equatable {
    case text(String)
    case integer(Int64)
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
        case .bytes(let value): SQLBind(Data(value))
        case .null: SQLLiteral.null
        }
    }

    var sqliteData: SQLiteData {
        switch self {
        case .text(let value): .text(value)
        case .integer(let value): .integer(Int(value))
        case .bytes(let value): .blob(ByteBuffer(bytes: value))
        case .null: .null
        }
    }
}

extension StoreDatabase {
    /// Multi-row INSERTs (one statement per `StoreSQL.rowsPerStatement` rows) on the connection
    /// of the caller's transaction. With `ignoringConflicts`, rows that hit a unique key are
    /// skipped. Returns the `returning` column of the inserted rows as integers or texts.
    func bulkInsert(
        _ sql: any SQLDatabase, into table: String, columns: [String], rows: [[StoreValue]],
        ignoringConflicts: Bool = false, returning: String? = nil
    ) async throws -> [StoreValue] {
        var returned: [StoreValue] = []
        for chunk in rows.chunked(by: StoreSQL.rowsPerStatement) {
            guard let sqlite = self.sqliteConnection else {
                var builder = sql.insert(into: table).columns(columns)
                for row in chunk { builder = builder.values(row.map(\.sqlExpression)) }
                if ignoringConflicts { builder = builder.ignoringConflicts() }
                guard let returning else {
                    try await builder.run()
                    continue
                }
                for row in try await builder.returning(SQLColumn(returning)).all() {
                    if let integer = try? row.decode(column: returning, as: Int64.self) {
                        returned.append(.integer(integer))
                    } else {
                        returned.append(.text(try row.decode(column: returning, as: String.self)))
                    }
                }
                continue
            }
            let placeholders = "(" + Array(repeating: "?", count: columns.count).joined(separator: ",") + ")"
            var statement = "INSERT INTO \(table) (\(columns.joined(separator: ","))) VALUES "
            statement += Array(repeating: placeholders, count: chunk.count).joined(separator: ",")
            if ignoringConflicts { statement += " ON CONFLICT DO NOTHING" }
            if let returning { statement += " RETURNING \(returning)" }
            var binds: [SQLiteData] = []
            binds.reserveCapacity(chunk.count * columns.count)
            for row in chunk {
                precondition(row.count == columns.count, "bulk insert row has the wrong number of values")
                for value in row { binds.append(value.sqliteData) }
            }
            for row in try await sqlite.query(statement, binds) {
                guard let returning, let value = row.column(returning) else { continue }
                switch value {
                case .integer(let integer): returned.append(.integer(Int64(integer)))
                case .text(let text): returned.append(.text(text))
                default: throw StorageError(.corruptRow, "bulk insert returned an unexpected value type")
                }
            }
        }
        return returned
    }

    /// `DELETE FROM table WHERE key IN (…)`, in chunks, on the connection of the caller's
    /// transaction; returns the keys of the rows that were there (and are now deleted).
    func bulkDelete(_ sql: any SQLDatabase, from table: String, whereKey key: String, in keys: [Int64]) async throws -> [Int64] {
        var deleted: [Int64] = []
        for chunk in keys.chunked(by: StoreSQL.rowsPerStatement) {
            guard let sqlite = self.sqliteConnection else {
                let rows = try await sql.delete(from: table).where(key, .in, Array(chunk)).returning(SQLColumn(key)).all()
                deleted += try rows.map { try $0.decode(column: key, as: Int64.self) }
                continue
            }
            let statement = "DELETE FROM \(table) WHERE \(key) IN (" + Array(repeating: "?", count: chunk.count).joined(separator: ",") + ") RETURNING \(key)"
            for row in try await sqlite.query(statement, chunk.map { SQLiteData.integer(Int($0)) }) {
                guard case .integer(let value) = row.column(key) else {
                    throw StorageError(.corruptRow, "bulk delete returned an unexpected value type")
                }
                deleted.append(Int64(value))
            }
        }
        return deleted
    }
}
