import ConsentBridgeTesting
import SQLKit
import Testing

@testable import ConsentStorage

/// A commit is on disk when it returns, unless the transaction asked otherwise: the relay
/// publishes a batch's records as soon as its commit returns, so a commit a power cut could roll
/// back would leave the other side holding disclosures the bridge store does not record. Only
/// the relay's marks, which are found again when lost, are `.deferred`.
@Suite("Commit durability")
struct CommitDurabilityTests {
    @Test(
        "transactions sync their commit by default; a deferred one does not, and the next is synced again",
        arguments: TestEngine.available)
    func deferredIsOneTransactionOnly(engine: TestEngine) async throws {
        try await withScratchDatabase(engine) { database in
            let setting = { (sql: any SQLDatabase) async throws -> String in
                try await Self.commitSetting(sql, engine: database.engine)
            }
            #expect(try await database.transaction(setting) == Self.synced(database.engine))
            #expect(try await database.transaction(durability: .deferred, setting) == Self.deferred(database.engine))
            #expect(try await database.transaction(setting) == Self.synced(database.engine))
            // Deferred again, then a synced transaction that fails: the one after it is synced.
            #expect(try await database.transaction(durability: .deferred, setting) == Self.deferred(database.engine))
            await #expect(throws: StorageError.self) {
                try await database.transaction { sql in
                    try await sql.raw("SELECT no_such_column FROM no_such_table").run()
                }
            }
            #expect(try await database.transaction(setting) == Self.synced(database.engine))
            if database.engine == .sqlite {
                let mode = try await database.read { sql in
                    try await sql.raw("PRAGMA journal_mode").first()?.decode(column: "journal_mode", as: String.self)
                }
                #expect(mode == "wal")
            }
        }
    }

    /// SQLite: `PRAGMA synchronous` (2 FULL: the WAL synced at every commit; 1 NORMAL: at
    /// checkpoints). PostgreSQL: `synchronous_commit`.
    private static func commitSetting(_ sql: any SQLDatabase, engine: SQLEngine) async throws -> String {
        switch engine {
        case .sqlite:
            let level = try await sql.raw("PRAGMA synchronous").first()?.decode(column: "synchronous", as: Int64.self)
            return level.map(String.init) ?? "?"
        case .postgres:
            return try await sql.raw("SHOW synchronous_commit").first()?.decode(
                column: "synchronous_commit", as: String.self) ?? "?"
        }
    }

    private static func synced(_ engine: SQLEngine) -> String { engine == .sqlite ? "2" : "on" }
    private static func deferred(_ engine: SQLEngine) -> String { engine == .sqlite ? "1" : "off" }
}
