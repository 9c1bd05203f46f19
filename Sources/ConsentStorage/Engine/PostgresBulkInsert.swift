import Foundation
import NIOCore
import PostgresKit
import SQLKit

/// PostgreSQL's bulk insert: one `INSERT … SELECT … FROM UNNEST(…)` per chunk of rows, each
/// column bound once as an array.
///
/// Multi-row `VALUES` bound every value on its own through SQLKit's `Encodable` machinery (an
/// existential and a boxing per value): for a bridge batch that was most of the client's work,
/// and one statement per 400 rows. Each column is written here, in one loop, straight into
/// PostgreSQL's binary array format (`BinaryArray`), NULLs included; a column of NULLs only is
/// a bare `NULL`, which takes the column's own type. `WITH ORDINALITY … ORDER BY` keeps the
/// rows in the given order, so generated keys are assigned in that order, as with `VALUES`.
enum PostgresBulkInsert {
    /// Rows per statement (each column is one array; a statement is bounded by memory only).
    static let rowsPerStatement = 5_000

    /// The statement inserting `rows` (all of one chunk).
    static func statement(
        into table: String, columns: [String], rows: [[StoreValue]], ignoringConflicts: Bool, returning: String?
    ) throws(StorageError) -> SQLQueryString {
        var statement = try self.insert(into: table, columns: columns, rows: rows)
        if ignoringConflicts { statement += " ON CONFLICT DO NOTHING" }
        if let returning { statement += " RETURNING \(unsafeRaw: returning)" }
        return statement
    }

    /// Inserts `rows`, skipping those whose key (the first column) is stored already, and
    /// returns one row: `inserted`, how many went in, and `keys`, the keys that went in, but
    /// only when some did not (NULL otherwise). Usually every row is new, and then one number
    /// comes back instead of a key per row.
    static func insertSkippingStored(
        into table: String, columns: [String], rows: [[StoreValue]]
    ) throws(StorageError) -> SQLQueryString {
        let keyColumn = columns[0]
        var statement: SQLQueryString = "WITH inserted AS ("
        statement += try self.insert(into: table, columns: columns, rows: rows)
        statement += " ON CONFLICT DO NOTHING RETURNING \(unsafeRaw: keyColumn)) "
        statement += "SELECT count(*) AS inserted, CASE WHEN count(*) = \(unsafeRaw: String(rows.count)) THEN NULL "
        statement += "ELSE array_agg(\(unsafeRaw: keyColumn)) END AS keys FROM inserted"
        return statement
    }

    /// Inserts `rows` numbered by the statement itself: it takes the transaction lock `lock`
    /// (if any), moves `sequence` past `count` numbers, and stores each row's first column (an
    /// offset) plus the first of those numbers. Returns one row: `first`, the first number, and
    /// `inserted`, the rows that went in.
    ///
    /// One round trip instead of three (lock, numbers, insert), and nothing in it depends on the
    /// numbers, so it is encoded before the transaction starts.
    static func numberedInsert(
        into table: String, columns: [String], rows: [[StoreValue]], sequence: String, count: Int, lock: Int64?
    ) throws(StorageError) -> SQLQueryString {
        // MATERIALIZED: each runs once, in this order (the numbers are read from the lock's
        // row, the rows from the numbers' row), before the first row is inserted.
        var statement: SQLQueryString = "WITH "
        var numbersFrom = ""
        if let lock {
            statement += "locked AS MATERIALIZED (SELECT pg_advisory_xact_lock(\(unsafeRaw: String(lock)))), "
            numbersFrom = " FROM locked"
        }
        let numbers = "setval(\(sequence), nextval(\(sequence)) + \(count) - 1) - \(count) + 1"
        statement += "numbers AS MATERIALIZED (SELECT \(unsafeRaw: numbers) AS first\(unsafeRaw: numbersFrom)), "
        statement += "inserted AS ("
        statement += try self.insert(into: table, columns: columns, rows: rows, offsetsFrom: "numbers")
        statement += " RETURNING 1) SELECT first, (SELECT count(*) FROM inserted) AS inserted FROM numbers"
        return statement
    }

    /// `INSERT INTO table (columns) SELECT … FROM UNNEST(…)`, the rows in the order given; with
    /// `offsetsFrom`, the first column's values are offsets from that relation's `first` (the
    /// relation, of one row, is joined).
    private static func insert(
        into table: String, columns: [String], rows: [[StoreValue]], offsetsFrom numbers: String? = nil
    ) throws(StorageError) -> SQLQueryString {
        var arguments: [SQLQueryString] = []
        var aliases: [String] = []
        var selected: [String] = []
        for (index, column) in columns.enumerated() {
            guard let array = try BinaryArray(column: index, named: column, of: table, in: rows) else {
                selected.append("NULL")
                continue
            }
            arguments.append("\(bind: array)")
            aliases.append("v\(index)")
            selected.append("v\(index)")
        }
        var from = ""
        if let numbers {
            precondition(selected[0] == "v0", "a numbered insert's first column holds every row's offset")
            selected[0] = "\(numbers).first + v0"
            from = "\(numbers) CROSS JOIN "
        }
        var statement: SQLQueryString =
            "INSERT INTO \(unsafeRaw: table) (\(unsafeRaw: columns.joined(separator: ", "))) "
        if arguments.isEmpty {
            // Every column NULL: one row of NULLs per row.
            statement += "SELECT \(unsafeRaw: selected.joined(separator: ", ")) FROM generate_series(1, "
            statement += "\(unsafeRaw: String(rows.count))) AS u(ordinal) ORDER BY ordinal"
        } else {
            statement += "SELECT \(unsafeRaw: selected.joined(separator: ", ")) FROM \(unsafeRaw: from)UNNEST("
            statement += arguments.joined(separator: ", ")
            statement += ") WITH ORDINALITY AS u(\(unsafeRaw: (aliases + ["ordinal"]).joined(separator: ", "))) "
            statement += "ORDER BY ordinal"
        }
        return statement
    }
}

/// One column of a bulk insert in PostgreSQL's binary array format (`array_recv`: one
/// dimension, the element type, then each element as its length and bytes, -1 for NULL),
/// written by this module's own loop and bound as it is.
///
/// PostgresNIO's `Array` encoder is generic over its elements and reached through an
/// existential, so it ran unspecialized, a protocol witness per element: ~40% of the store's
/// thread on a PostgreSQL bridge batch. Its NULL-free arrays also needed a second array (and a
/// `CASE`) to say which values were NULL; here a NULL is an element like any other.
struct BinaryArray: PostgresThrowingDynamicTypeEncodable, Encodable, Sendable {
    let psqlType: PostgresDataType
    var psqlFormat: PostgresFormat { .binary }
    let bytes: ByteBuffer

    /// Column `index` of `rows`, or nil when every value is NULL (the statement then writes a
    /// bare NULL, which takes the column's type). Values of two kinds in one column are a
    /// defect: refused, not guessed.
    init?(column index: Int, named name: String, of table: String, in rows: [[StoreValue]]) throws(StorageError) {
        var kind: StoreValue?
        var hasNulls = false
        var payloadBytes = 0
        for row in rows {
            switch row[index] {
            case .null: hasNulls = true
            case .text(let text): payloadBytes += text.utf8.count
            case .bytes(let bytes): payloadBytes += bytes.count
            case .integer, .real: payloadBytes += 8
            }
            if kind == nil, row[index] != .null { kind = row[index] }
        }
        guard let kind else { return nil }
        let element: PostgresDataType
        let array: PostgresDataType
        switch kind {
        case .text: (element, array) = (.text, .textArray)
        case .integer: (element, array) = (.int8, .int8Array)
        case .real: (element, array) = (.float8, .float8Array)
        case .bytes: (element, array) = (.bytea, .byteaArray)
        case .null: return nil
        }
        var buffer = ByteBuffer()
        buffer.reserveCapacity(20 + 4 * rows.count + payloadBytes)
        buffer.writeInteger(1, as: Int32.self)  // dimensions
        buffer.writeInteger(hasNulls ? 1 : 0, as: Int32.self)
        buffer.writeInteger(element.rawValue)
        buffer.writeInteger(Int32(rows.count))  // the dimension's length
        buffer.writeInteger(1, as: Int32.self)  // and its lower bound
        for row in rows {
            switch (row[index], kind) {
            case (.null, _):
                buffer.writeInteger(-1, as: Int32.self)
            case (.text(let text), .text):
                let lengthAt = buffer.writerIndex
                buffer.writeInteger(0, as: Int32.self)
                let written = buffer.writeString(text)
                buffer.setInteger(Int32(written), at: lengthAt)
            case (.bytes(let bytes), .bytes):
                buffer.writeInteger(Int32(bytes.count))
                buffer.writeBytes(bytes)
            case (.integer(let integer), .integer):
                buffer.writeInteger(8, as: Int32.self)
                buffer.writeInteger(integer)
            case (.real(let real), .real):
                buffer.writeInteger(8, as: Int32.self)
                buffer.writeInteger(real.bitPattern)
            default:
                throw StorageError(.invalidBatch, "values of more than one type for column \(name) of \(table)")
            }
        }
        self.psqlType = array
        self.bytes = buffer
    }

    func encode<JSONEncoder: PostgresJSONEncoder>(
        into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>
    ) throws {
        byteBuffer.writeImmutableBuffer(bytes)
    }

    /// Only PostgreSQL binds it (through the fast path above); any other encoder is a defect.
    func encode(to encoder: any Encoder) throws {
        throw EncodingError.invalidValue(
            "binary array", .init(codingPath: encoder.codingPath, debugDescription: "bound only on PostgreSQL"))
    }
}
