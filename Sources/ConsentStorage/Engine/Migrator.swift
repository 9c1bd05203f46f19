import Foundation
import Logging
import SQLKit

/// Applies a store's migrations at start-up, in one transaction, and checks the store's identity.
///
/// The `store_identity` row written by the first migration run makes the database belong to
/// one `StoreKind`: opening a health journal as a NAV case store (or the bridge store) fails
/// with `.wrongStoreKind` before anything is written (docs/rules.md R9).
enum Migrator {
    static func migrate(
        _ database: StoreDatabase,
        kind: StoreKind,
        migrations: [Migration],
        logger: Logger
    ) async throws(StorageError) {
        let engine = database.engine
        let known = migrations.map(\.version).max() ?? 0
        let applied: [Int] = try await database.transaction { sql in
            if engine == .postgres {
                // Two instances starting together must not both apply version N.
                try await sql.raw("SELECT pg_advisory_xact_lock(7262736573)").run()
            }
            try await sql.raw(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version BIGINT PRIMARY KEY,
                    name TEXT NOT NULL,
                    applied_at TEXT NOT NULL)
                """
            ).run()
            try await sql.raw(
                """
                CREATE TABLE IF NOT EXISTS store_identity (
                    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                    store_kind TEXT NOT NULL,
                    created_at TEXT NOT NULL)
                """
            ).run()
            let identity = try await sql.raw("SELECT store_kind FROM store_identity WHERE singleton = 1").first()
            if let identity {
                let existing = try identity.decode(column: "store_kind", as: String.self)
                guard existing == kind.rawValue else {
                    throw StorageError(
                        .wrongStoreKind,
                        "database at \(database.location) is a \(existing) store, not a \(kind) store; refusing to open it"
                    )
                }
            } else {
                let now = StoreTime.string(from: Date())
                try await sql.raw(
                    "INSERT INTO store_identity (singleton, store_kind, created_at) VALUES (1, \(bind: kind.rawValue), \(bind: now))"
                ).run()
            }
            let rows = try await sql.raw("SELECT version FROM schema_migrations").all()
            let done = Set(try rows.map { Int(try $0.decode(column: "version", as: Int64.self)) })
            if let newest = done.max(), newest > known {
                throw StorageError(
                    .schemaTooNew,
                    "\(kind) store at \(database.location) has schema version \(newest); this program knows up to \(known)"
                )
            }
            var appliedNow: [Int] = []
            for migration in migrations.sorted(by: { $0.version < $1.version }) where !done.contains(migration.version)
            {
                for statement in migration.statements(engine) {
                    try await sql.raw(SQLQueryString(statement)).run()
                }
                if engine == .sqlite, !migration.sqliteSchemaRewrites.isEmpty {
                    try await Self.rewriteSQLiteSchema(sql, migration.sqliteSchemaRewrites)
                }
                try await migration.rewriteRows?(sql, engine)
                let now = StoreTime.string(from: Date())
                try await sql.raw(
                    """
                    INSERT INTO schema_migrations (version, name, applied_at)
                    VALUES (\(bind: Int64(migration.version)), \(bind: migration.name), \(bind: now))
                    """
                ).run()
                appliedNow.append(migration.version)
            }
            return appliedNow
        }
        if !applied.isEmpty {
            logger.info(
                "store migrated",
                metadata: ["store.kind": "\(kind)", "store.engine": "\(engine)", "store.migrations": "\(applied)"]
            )
        }
    }

    /// Edits tables' stored definitions in place, by SQLite's documented procedure for changes
    /// that leave the file format as it is (such as a CHECK constraint's expression): with
    /// `writable_schema` on, the text in `sqlite_schema` is replaced, the schema version raised
    /// (so every connection reads the schema again), and the database checked whole. Each text
    /// must be found exactly once, or the migration fails and its transaction rolls back.
    static func rewriteSQLiteSchema(_ sql: any SQLDatabase, _ rewrites: [SQLiteSchemaRewrite]) async throws {
        guard
            let version = try await sql.raw("PRAGMA schema_version").first()?.decode(
                column: "schema_version", as: Int64.self)
        else { throw StorageError(.queryFailed, "SQLite reported no schema version") }
        try await sql.raw("PRAGMA writable_schema = ON").run()
        for rewrite in rewrites {
            let stored = try await sql.raw(
                "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = \(bind: rewrite.table)"
            ).first()?.decode(column: "sql", as: String.self)
            guard let stored, stored.components(separatedBy: rewrite.text).count == 2 else {
                try await sql.raw("PRAGMA writable_schema = OFF").run()
                throw StorageError(
                    .queryFailed, "table \(rewrite.table)'s stored definition is not the one this migration edits")
            }
            let edited = stored.replacingOccurrences(of: rewrite.text, with: rewrite.replacement)
            try await sql.raw(
                "UPDATE sqlite_schema SET sql = \(bind: edited) WHERE type = 'table' AND name = \(bind: rewrite.table)"
            ).run()
        }
        try await sql.raw("PRAGMA schema_version = \(unsafeRaw: String(version + 1))").run()
        try await sql.raw("PRAGMA writable_schema = OFF").run()
        let check = try await sql.raw("PRAGMA integrity_check").all().map {
            try $0.decode(column: "integrity_check", as: String.self)
        }
        guard check == ["ok"] else {
            throw StorageError(.queryFailed, "SQLite integrity check failed after editing the schema")
        }
    }

    /// Statements that make `table` append-only in the database itself (issue 4 item 6).
    static func appendOnly(_ table: String, engine: SQLEngine) -> [String] {
        switch engine {
        case .sqlite:
            return [
                "CREATE TRIGGER \(table)_no_update BEFORE UPDATE ON \(table) BEGIN SELECT RAISE(ABORT, '\(table) is append-only'); END",
                "CREATE TRIGGER \(table)_no_delete BEFORE DELETE ON \(table) BEGIN SELECT RAISE(ABORT, '\(table) is append-only'); END",
            ]
        case .postgres:
            return [
                """
                CREATE OR REPLACE FUNCTION consent_bridge_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
                END
                $$
                """,
                "CREATE TRIGGER \(table)_no_change BEFORE UPDATE OR DELETE ON \(table) FOR EACH ROW EXECUTE FUNCTION consent_bridge_append_only()",
                "CREATE TRIGGER \(table)_no_truncate BEFORE TRUNCATE ON \(table) FOR EACH STATEMENT EXECUTE FUNCTION consent_bridge_append_only()",
            ]
        }
    }

    /// `statements` run with `table`'s append-only guard lifted, for a migration that must
    /// correct history (the guard is back before the migration's transaction commits).
    static func correctingAppendOnly(_ table: String, engine: SQLEngine, _ statements: [String]) -> [String] {
        let lift: [String]
        switch engine {
        case .sqlite: lift = ["DROP TRIGGER \(table)_no_update", "DROP TRIGGER \(table)_no_delete"]
        case .postgres:
            lift = ["DROP TRIGGER \(table)_no_change ON \(table)", "DROP TRIGGER \(table)_no_truncate ON \(table)"]
        }
        return lift + statements + appendOnly(table, engine: engine)
    }

    /// The consumer-offset table every store has (sinks keep their offsets beside their data).
    static let consumerOffsetsTable = """
        CREATE TABLE consumer_offsets (
            consumer_group TEXT NOT NULL,
            topic TEXT NOT NULL,
            partition_id INTEGER NOT NULL,
            next_offset BIGINT NOT NULL CHECK (next_offset >= 0),
            updated_at TEXT NOT NULL,
            PRIMARY KEY (consumer_group, topic, partition_id))
        """
}
