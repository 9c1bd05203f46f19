import ConsentConfiguration
import ConsentStorage
import Foundation
import Testing

/// One store-location type for the configuration and the stores: three stores, configured
/// separately, never the same database by accident (R9).
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
        let error = #expect(throws: StorageError.self) { try StoreLocation(parsing: "postgres://db.example/bridge") }
        #expect(error?.code == .invalidLocation && error?.message.contains("user") == true)
    }

    @Test("R9: the same file or the same PostgreSQL database has one identity, whatever the spelling or credentials")
    func R9_identity() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("locations-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let link = folder.appendingPathComponent("link")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: folder)
        let direct = StoreLocation.sqlite(path: folder.appendingPathComponent("health.sqlite").path)
        #expect(direct.identity == StoreLocation.sqlite(path: folder.path + "/./x/../health.sqlite").identity)
        #expect(
            direct.identity == StoreLocation.sqlite(path: link.appendingPathComponent("health.sqlite").path).identity)
        #expect(
            direct.identity != StoreLocation.sqlite(path: folder.appendingPathComponent("nav.sqlite").path).identity)

        let a = try StoreLocation(parsing: "postgres://bridge:a@LOCALHOST/consent")
        let b = try StoreLocation(parsing: "postgres://health:b@127.0.0.1:5432/consent")
        let c = try StoreLocation(parsing: "postgres://nav:c@127.0.0.1:5432/nav")
        #expect(a.identity == b.identity)
        #expect(a.identity != c.identity)
        #expect(!a.identity.contains(":a@") && !b.description.contains(":b@"))
    }

    @Test("R9: the configuration refuses two stores on one database (the check the running product makes)")
    func R9_configurationRefusesSharedDatabases() throws {
        let error = #expect(throws: ConfigurationError.self) {
            try BridgeConfiguration.load(
                arguments: [
                    "--embedded", "--health-store", "/tmp/consent/../consent/./shared.sqlite", "--nav-store",
                    "/tmp/consent/shared.sqlite",
                ],
                environment: [:], fileContents: nil)
        }
        #expect(error.map { Set($0.keys).contains("nav.store") || Set($0.keys).contains("health.store") } == true)
    }
}
