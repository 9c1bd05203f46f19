import Foundation

/// The databases a store test runs on: SQLite always, PostgreSQL when
/// `CONSENT_BRIDGE_TEST_POSTGRES_URL` names a server (`scripts/with-postgres.sh` sets it; CI
/// always does, with `CONSENT_BRIDGE_TEST_REQUIRE_POSTGRES=1` so a missing URL fails).
package enum TestDatabaseEngine: String, CaseIterable, Sendable {
    case sqlite
    case postgres

    /// The server scratch databases are made on, if any.
    package static var postgresURL: String? {
        ProcessInfo.processInfo.environment["CONSENT_BRIDGE_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether the run must have PostgreSQL (CI): its tests then fail instead of being skipped.
    package static var isPostgresRequired: Bool {
        ProcessInfo.processInfo.environment["CONSENT_BRIDGE_TEST_REQUIRE_POSTGRES"] == "1"
    }

    /// The engines this run has.
    package static var available: [TestDatabaseEngine] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    /// Why PostgreSQL tests were skipped, and how to run them.
    package static let skipMessage = """
        PostgreSQL tests skipped: set CONSENT_BRIDGE_TEST_POSTGRES_URL, e.g. \
        `scripts/with-postgres.sh swift test` (starts a throwaway cluster)
        """
}
