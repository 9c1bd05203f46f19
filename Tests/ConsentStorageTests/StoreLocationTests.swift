import ConsentStorage
import Foundation
import Testing

/// Issue 4 item 2: three stores, configured separately, never the same database by accident (R9).
@Suite("Store locations")
struct StoreLocationTests {
    @Test("Locations parse as SQLite paths or PostgreSQL URLs; descriptions hide passwords")
    func parsing() throws {
        #expect(try StoreLocation(parsing: "data/bridge.sqlite") == .sqlite(path: "data/bridge.sqlite"))
        #expect(try StoreLocation(parsing: "sqlite:/var/lib/x.db") == .sqlite(path: "/var/lib/x.db"))
        let postgres = try StoreLocation(parsing: "postgres://bridge:s3cret@db.example:6543/bridge")
        #expect(postgres.engine == .postgres)
        #expect(!postgres.description.contains("s3cret"))
        #expect(throws: StorageError.self) { try StoreLocation(parsing: "  ") }
        #expect(throws: StorageError.self) { try StoreLocation(parsing: "mysql://x/y") }
    }

    @Test("R9: two stores on the same file or the same PostgreSQL database are refused")
    func R9_storesNeverShareADatabase() throws {
        let distinct = StoreLocations.sqlite(dataDirectory: "/tmp/consent")
        try distinct.validateDistinct()

        var sameFile = distinct
        sameFile.navCase = .sqlite(path: "/tmp/consent/../consent/./health.sqlite")
        let fileError = #expect(throws: StorageError.self) { try sameFile.validateDistinct() }
        #expect(fileError?.code == .sameDatabase)

        // Different users/passwords, host spelling and default port: still one database.
        let samePostgres = StoreLocations(
            bridge: .postgres(url: "postgres://bridge:a@LOCALHOST/consent"),
            healthJournal: .postgres(url: "postgres://health:b@127.0.0.1:5432/consent"),
            navCase: .postgres(url: "postgres://nav:c@127.0.0.1:5432/nav"))
        let postgresError = #expect(throws: StorageError.self) { try samePostgres.validateDistinct() }
        #expect(postgresError?.code == .sameDatabase)
        #expect(postgresError.map { !"\($0)".contains(":a@") && !"\($0)".contains(":b@") } ?? true)
    }
}
