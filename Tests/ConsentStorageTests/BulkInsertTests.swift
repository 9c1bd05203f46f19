import ConsentBridgeTesting
import Foundation
import SQLKit
import Testing

@testable import ConsentStorage

/// The bulk insert every store batch goes through: on SQLite one prepared statement stepped
/// per row, on PostgreSQL one `UNNEST` of columns written in PostgreSQL's binary array format
/// by the store itself (`BinaryArray`).
@Suite("Bulk insert")
struct BulkInsertTests {
    /// On SQLite a statement binds text and blobs from a scratch buffer it reuses run after run,
    /// grows for a big value and shrinks again afterwards (`SQLitePreparedStatement`): no row may
    /// see another row's bytes, so the rows go through one statement in two runs, small, empty,
    /// larger than any scratch kept between runs, then small again.
    @Test(
        "every kind of value, NULLs anywhere in a column, empty and large values, and columns of NULLs only read back exactly as bound, in order",
        arguments: TestEngine.available)
    func valuesReadBackAsBound(engine: TestEngine) async throws {
        try await withScratchDatabase(engine) { database in
            var generator = SystemRandomNumberGenerator()
            func text(_ count: Int) -> String {
                String(
                    (0..<count).map { _ in
                        "abcdefghijklmnopqrstuvwxyzæøå0123456789\"\\',{}".randomElement(using: &generator)!
                    })
            }
            func bytes(_ count: Int) -> [UInt8] {
                (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            }
            let sizes = [3, 0, 300, 200_000, 1, 70_000, 0, 17]
            let rows: [[StoreValue]] = sizes.enumerated().map { index, size in
                [
                    .integer(Int64(index) - 3), .text(text(size)), .bytes(bytes(size)),
                    index % 3 == 0 ? .null : .text(text(size / 2 + 1)),
                    index % 2 == 0 ? .real(Double(index) / 3 - 1) : .null,
                    index == 5 ? .integer(Int64.min) : (index == 6 ? .integer(Int64.max) : .null),
                    index % 4 == 1 ? .bytes([]) : .null, .null,
                ]
            }
            let bytesType = database.engine.bytesType
            let real = engine == .postgres ? "DOUBLE PRECISION" : "REAL"
            let stored = try await database.transaction { sql -> [[StoreValue]] in
                try await sql.raw(
                    """
                    CREATE TABLE s (k BIGINT PRIMARY KEY, t TEXT NOT NULL, b \(unsafeRaw: bytesType) NOT NULL, u TEXT,
                        r \(unsafeRaw: real), i BIGINT, e \(unsafeRaw: bytesType), n TEXT)
                    """
                ).run()
                let columns = ["k", "t", "b", "u", "r", "i", "e", "n"]
                for half in [rows[..<4], rows[4...]] {
                    _ = try await database.bulkInsert(sql, into: "s", columns: columns, rows: Array(half))
                }
                return try await sql.raw("SELECT k, t, b, u, r, i, e, n FROM s ORDER BY k").all().map { row in
                    [
                        .integer(try row.decode(column: "k", as: Int64.self)),
                        .text(try row.decode(column: "t", as: String.self)),
                        .bytes(Array(try row.decode(column: "b", as: Data.self))),
                        .text(try row.decode(column: "u", as: String?.self)),
                        try row.decode(column: "r", as: Double?.self).map { .real($0) } ?? .null,
                        .integer(try row.decode(column: "i", as: Int64?.self)),
                        .bytes(try row.decode(column: "e", as: Data?.self).map { Array($0) }),
                        .text(try row.decode(column: "n", as: String?.self)),
                    ]
                }
            }
            #expect(stored.count == rows.count)
            for (read, bound) in zip(stored, rows) { #expect(read == bound) }
        }
    }

    /// Outbox rows are encoded before their sequence numbers are known; the numbers are bound in
    /// place of the rows' first values (on SQLite without copying the rows).
    @Test(
        "a separate first column replaces each row's first value, also when it is the one returned",
        arguments: TestEngine.available)
    func firstColumnReplacesTheRowsFirstValues(engine: TestEngine) async throws {
        try await withScratchDatabase(engine) { database in
            let (returned, stored) = try await database.transaction { sql -> ([StoreValue], [[StoreValue]]) in
                try await sql.raw("CREATE TABLE f (k BIGINT PRIMARY KEY, t TEXT NOT NULL)").run()
                let rows: [[StoreValue]] = [
                    [.integer(0), .text("a")], [.null, .text("b")], [.integer(0), .text("c")],
                ]
                let returned = try await database.bulkInsert(
                    sql, into: "f", columns: ["k", "t"], rows: rows,
                    firstColumn: [.integer(40), .integer(7), .integer(41)], returning: "k")
                let stored = try await sql.raw("SELECT k, t FROM f ORDER BY k").all().map { row -> [StoreValue] in
                    [
                        .integer(try row.decode(column: "k", as: Int64.self)),
                        .text(try row.decode(column: "t", as: String.self)),
                    ]
                }
                return (returned, stored)
            }
            #expect(returned == [.integer(40), .integer(7), .integer(41)])
            #expect(stored == [[.integer(7), .text("b")], [.integer(40), .text("a")], [.integer(41), .text("c")]])
        }
    }

    /// SQLite stores any value in any column; PostgreSQL's arrays have one element type.
    @Test(
        "PostgreSQL: a column holding values of two kinds is refused and nothing is stored",
        arguments: TestEngine.available.filter { $0 == .postgres })
    func mixedKindsAreRefused(engine: TestEngine) async throws {
        try await withScratchDatabase(engine) { database in
            try await database.transaction { sql in try await sql.raw("CREATE TABLE m (x TEXT)").run() }
            await #expect(throws: StorageError.self) {
                try await database.transaction { sql in
                    _ = try await database.bulkInsert(
                        sql, into: "m", columns: ["x"], rows: [[.text("one")], [.integer(2)]])
                }
            }
            let count = try await database.read { sql in
                try await sql.raw("SELECT COUNT(*) AS n FROM m").first()?.decode(column: "n", as: Int.self)
            }
            #expect(count == 0)
        }
    }
}
