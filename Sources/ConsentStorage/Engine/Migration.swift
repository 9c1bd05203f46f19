import SQLKit

/// One versioned schema change of a store; its statements may differ per engine.
struct Migration: Sendable {
    /// Strictly increasing, starting at 1; recorded in `schema_migrations`.
    let version: Int
    /// Short name, for operators.
    let name: String
    /// The statements, one per call (PostgreSQL's extended protocol takes one statement at a time).
    let statements: @Sendable (SQLEngine) -> [String]
    /// On SQLite, edits of tables' stored definitions that leave the file format as it is
    /// (`Migrator.rewriteSQLiteSchema`), made after `statements`.
    var sqliteSchemaRewrites: [SQLiteSchemaRewrite] = []
    /// Rows rewritten by code, for a change SQL cannot spell (such as decoding a stored form),
    /// run after `statements` in the same transaction.
    var rewriteRows: (@Sendable (any SQLDatabase, SQLEngine) async throws -> Void)?

    init(
        version: Int, name: String, sqliteSchemaRewrites: [SQLiteSchemaRewrite] = [],
        rewriteRows: (@Sendable (any SQLDatabase, SQLEngine) async throws -> Void)? = nil,
        statements: @escaping @Sendable (SQLEngine) -> [String]
    ) {
        self.version = version
        self.name = name
        self.sqliteSchemaRewrites = sqliteSchemaRewrites
        self.rewriteRows = rewriteRows
        self.statements = statements
    }
}

/// A text in one SQLite table's stored `CREATE TABLE` statement and what replaces it.
struct SQLiteSchemaRewrite: Sendable {
    let table: String
    let text: String
    let replacement: String
}
