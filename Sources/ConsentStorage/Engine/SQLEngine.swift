import Foundation

/// The SQL engine under a store; selects the few statements that differ between engines.
package enum SQLEngine: String, Sendable, CaseIterable, CustomStringConvertible {
    /// SQLite through the system's libsqlite3 (embedded default, one file per store).
    case sqlite
    /// PostgreSQL through postgres-nio (production).
    case postgres

    package var description: String { self.rawValue }

    /// Column type for binary payloads.
    var bytesType: String {
        switch self {
        case .sqlite: "BLOB"
        case .postgres: "BYTEA"
        }
    }

    /// Column definition for an auto-increasing 64-bit primary key.
    var serialPrimaryKey: String {
        switch self {
        case .sqlite: "INTEGER PRIMARY KEY AUTOINCREMENT"
        case .postgres: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
        }
    }

    /// Literal of an empty binary value.
    var emptyBytes: String {
        switch self {
        case .sqlite: "X''"
        case .postgres: "'\\x'::bytea"
        }
    }

    /// The SQL function that gives the 1-based position of one text in another (0: absent).
    var positionFunction: String {
        switch self {
        case .sqlite: "instr"
        case .postgres: "strpos"
        }
    }

    /// Statement that opens a write transaction.
    ///
    /// SQLite takes the write lock at BEGIN (IMMEDIATE) so two processes on one file cannot
    /// both read-then-write and deadlock on upgrade.
    var beginTransaction: String {
        switch self {
        case .sqlite: "BEGIN IMMEDIATE"
        case .postgres: "BEGIN"
        }
    }

    /// Replaces the engine-specific tokens `{bytes}` and `{serial_pk}` in shared DDL.
    func render(_ ddl: String) -> String {
        ddl.replacingOccurrences(of: "{bytes}", with: self.bytesType)
            .replacingOccurrences(of: "{serial_pk}", with: self.serialPrimaryKey)
    }
}
