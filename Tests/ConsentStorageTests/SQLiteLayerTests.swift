import ConsentBridgeTesting
import Foundation
import SQLKit
import Testing

@testable import ConsentStorage

/// The SQLite layer under every store (Debian's libsqlite3 through `SQLiteHandle`): values
/// keep their types both ways and mistakes fail instead of storing something else. (That the
/// blocking SQLite calls run on the store's own thread: `StoreThreadTests`; bulk inserts of
/// every size and kind, on both engines: `BulkInsertTests`.)
@Suite("SQLite layer")
struct SQLiteLayerTests {
    @Test("bound values read back with their types: text, integers, reals, bytes, booleans and NULL")
    func valuesRoundTrip() async throws {
        try await withScratchDatabase(.sqlite) { database in
            let bytes = Data([0, 1, 2, 255, 0])
            let row = try await database.transaction { sql -> (any SQLRow)? in
                try await sql.raw(
                    "CREATE TABLE v (t TEXT, i INTEGER, r REAL, b BLOB, f INTEGER, n TEXT, e TEXT, z BLOB)"
                ).run()
                let missing: String? = nil
                try await sql.raw(
                    """
                    INSERT INTO v VALUES (\(bind: "fødselsnummer-free ø"), \(bind: Int64.max), \(bind: 2.5), \(bind: bytes), \
                    \(bind: true), \(bind: missing), \(bind: ""), \(bind: Data()))
                    """
                ).run()
                return try await sql.raw("SELECT * FROM v").first()
            }
            let stored = try #require(row)
            #expect(try stored.decode(column: "t", as: String.self) == "fødselsnummer-free ø")
            #expect(try stored.decode(column: "i", as: Int64.self) == Int64.max)
            #expect(try stored.decode(column: "r", as: Double.self) == 2.5)
            #expect(try stored.decode(column: "b", as: Data.self) == bytes)
            #expect(try stored.decode(column: "f", as: Bool.self) == true)
            #expect(try stored.decode(column: "n", as: String?.self) == nil)
            #expect(try stored.decodeNil(column: "n"))
            #expect(try stored.decode(column: "t", as: String?.self) == "fødselsnummer-free ø")
            #expect(try stored.decode(column: "i", as: Int64?.self) == Int64.max)
            // Empty text and an empty blob are values, not NULL.
            #expect(try stored.decode(column: "e", as: String.self) == "")
            #expect(try stored.decode(column: "z", as: Data.self) == Data())
            #expect(stored.allColumns == ["t", "i", "r", "b", "f", "n", "e", "z"])
        }
    }

    @Test("decoding a value as the wrong type, or a missing column, throws instead of guessing")
    func mismatchesThrow() async throws {
        try await withScratchDatabase(.sqlite) { database in
            let row = try await database.transaction { sql -> (any SQLRow)? in
                try await sql.raw("SELECT 'text' AS t, 7 AS i, NULL AS n").first()
            }
            let stored = try #require(row)
            #expect(throws: DecodingError.self) { try stored.decode(column: "t", as: Int64.self) }
            #expect(throws: DecodingError.self) { try stored.decode(column: "i", as: String.self) }
            #expect(throws: DecodingError.self) { try stored.decode(column: "n", as: String.self) }
            #expect(throws: DecodingError.self) { try stored.decode(column: "absent", as: String?.self) }
        }
    }

    @Test("binding a value the store cannot represent fails the transaction and stores nothing")
    func unsupportedBindFails() async throws {
        struct Composite: Encodable, Sendable { var a = 1 }
        try await withScratchDatabase(.sqlite) { database in
            try await database.transaction { sql in try await sql.raw("CREATE TABLE c (x)").run() }
            await #expect(throws: StorageError.self) {
                try await database.transaction { sql in
                    try await sql.raw("INSERT INTO c VALUES (\(bind: "kept only if the next insert works"))").run()
                    try await sql.raw("INSERT INTO c VALUES (\(bind: Composite()))").run()
                }
            }
            let count = try await database.read { sql in
                try await sql.raw("SELECT COUNT(*) AS n FROM c").first()?.decode(column: "n", as: Int64.self)
            }
            #expect(count == 0)
        }
    }

    @Test("SQL holding a second statement is refused, not cut after the first")
    func secondStatementIsRefused() async throws {
        try await withScratchDatabase(.sqlite) { database in
            await #expect(throws: StorageError.self) {
                try await database.transaction { sql in
                    try await sql.raw("CREATE TABLE a (x); CREATE TABLE b (x)").run()
                }
            }
            let tables = try await database.tableNames()
            #expect(!tables.contains("a") && !tables.contains("b"))
        }
    }

    @Test("a statement run again after its first run failed works (prepared statements are reset)")
    func preparedStatementRecoversAfterAFailure() async throws {
        try await withScratchDatabase(.sqlite) { database in
            try await database.transaction { sql in try await sql.raw("CREATE TABLE u (k TEXT PRIMARY KEY)").run() }
            try await database.transaction { sql in try await sql.raw("INSERT INTO u VALUES (\(bind: "one"))").run() }
            await #expect(throws: StorageError.self) {
                try await database.transaction { sql in try await sql.raw("INSERT INTO u VALUES (\(bind: "one"))").run()
                }
            }
            try await database.transaction { sql in try await sql.raw("INSERT INTO u VALUES (\(bind: "two"))").run() }
            let keys = try await database.read { sql in
                try await sql.raw("SELECT k FROM u ORDER BY k").all().map {
                    try $0.decode(column: "k", as: String.self)
                }
            }
            #expect(keys == ["one", "two"])
        }
    }
}
