import Foundation
import NIOCore
import PostgresKit
import SQLKit

/// PostgreSQL's bulk insert: one `INSERT … SELECT … FROM UNNEST(…)` per chunk of rows, each
/// column bound once as an array.
///
/// Multi-row `VALUES` bound every value on its own through SQLKit's `Encodable` machinery (an
/// existential and a boxing per value): for a bridge batch that was most of the client's work,
/// and one statement per 400 rows. Arrays of `String`, `Int64`, `Double` and `ByteBuffer` take
/// PostgresNIO's direct encoding. A column with NULLs is bound with a second array saying which
/// (a NULL-free array keeps that direct path); a column of NULLs only is a bare `NULL`, which
/// takes the column's own type. `WITH ORDINALITY … ORDER BY` keeps the rows in the given order,
/// so generated keys (`outbox.seq`) are assigned in that order, as with `VALUES`.
enum PostgresBulkInsert {
    /// Rows per statement (each column is one array; a statement is bounded by memory only).
    static let rowsPerStatement = 5_000

    /// One column's bound arrays.
    private enum ColumnArray {
        case text([String])
        case integer([Int64])
        case real([Double])
        case bytes([ByteBuffer])
        /// Every value NULL.
        case null
    }

    /// The statement inserting `rows` (all of one chunk).
    static func statement(
        into table: String, columns: [String], rows: [[StoreValue]], ignoringConflicts: Bool, returning: String?
    ) throws(StorageError) -> SQLQueryString {
        var arguments: [SQLQueryString] = []
        var aliases: [String] = []
        var selected: [String] = []
        for (index, column) in columns.enumerated() {
            let (array, nulls) = try Self.column(index, named: column, of: table, in: rows)
            let value = "v\(index)"
            switch array {
            case .null:
                selected.append("NULL")
                continue
            case .text(let values): arguments.append("\(bind: values)")
            case .integer(let values): arguments.append("\(bind: values)")
            case .real(let values): arguments.append("\(bind: values)")
            case .bytes(let values): arguments.append("\(bind: values)")
            }
            aliases.append(value)
            if let nulls {
                let mask = "n\(index)"
                arguments.append("\(bind: nulls)")
                aliases.append(mask)
                selected.append("CASE WHEN \(mask) THEN NULL ELSE \(value) END")
            } else {
                selected.append(value)
            }
        }
        var statement: SQLQueryString =
            "INSERT INTO \(unsafeRaw: table) (\(unsafeRaw: columns.joined(separator: ", "))) "
        if arguments.isEmpty {
            // Every column NULL: one row of NULLs per row.
            statement += "SELECT \(unsafeRaw: selected.joined(separator: ", ")) FROM generate_series(1, "
            statement += "\(unsafeRaw: String(rows.count))) AS u(ordinal) ORDER BY ordinal"
        } else {
            statement += "SELECT \(unsafeRaw: selected.joined(separator: ", ")) FROM UNNEST("
            statement += arguments.joined(separator: ", ")
            statement += ") WITH ORDINALITY AS u(\(unsafeRaw: (aliases + ["ordinal"]).joined(separator: ", "))) "
            statement += "ORDER BY ordinal"
        }
        if ignoringConflicts { statement += " ON CONFLICT DO NOTHING" }
        if let returning { statement += " RETURNING \(unsafeRaw: returning)" }
        return statement
    }

    /// Column `index` of `rows` as one typed array, and which of its values are NULL (nil when
    /// none is). Values of two kinds in one column are a defect: refused, not guessed.
    private static func column(_ index: Int, named name: String, of table: String, in rows: [[StoreValue]])
        throws(StorageError) -> (ColumnArray, [Bool]?)
    {
        var nulls: [Bool] = []
        nulls.reserveCapacity(rows.count)
        var kind: StoreValue?
        for row in rows {
            let value = row[index]
            nulls.append(value == .null)
            if kind == nil, value != .null { kind = value }
        }
        let hasNulls = nulls.contains(true)
        /// The column's values as `T` (`placeholder` where NULL); another kind is a defect.
        func values<T>(_ placeholder: T, _ value: (StoreValue) -> T?) throws(StorageError) -> [T] {
            var values: [T] = []
            values.reserveCapacity(rows.count)
            for row in rows {
                if row[index] == .null {
                    values.append(placeholder)
                } else if let typed = value(row[index]) {
                    values.append(typed)
                } else {
                    throw StorageError(.invalidBatch, "values of more than one type for column \(name) of \(table)")
                }
            }
            return values
        }
        let array: ColumnArray
        switch kind {
        case nil, .null?:
            return (.null, nil)
        case .text?:
            array = .text(
                try values("") {
                    if case .text(let text) = $0 { return text }
                    return nil
                })
        case .integer?:
            array = .integer(
                try values(0) {
                    if case .integer(let integer) = $0 { return integer }
                    return nil
                })
        case .real?:
            array = .real(
                try values(0) {
                    if case .real(let real) = $0 { return real }
                    return nil
                })
        case .bytes?:
            array = .bytes(
                try values(ByteBuffer()) {
                    if case .bytes(let bytes) = $0 { return ByteBuffer(bytes: bytes) }
                    return nil
                })
        }
        return (array, hasNulls ? nulls : nil)
    }
}
