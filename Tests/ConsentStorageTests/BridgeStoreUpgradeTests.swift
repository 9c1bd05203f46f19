@testable import ConsentStorage
import Foundation
import SQLKit
import Testing

/// Upgrading a bridge store that already holds data (migrations 2 → 4).
@Suite("Bridge store upgrade")
struct BridgeStoreUpgradeTests {
    @Test("Outbox status moves beside the rows: pending stays pending, published and withheld keep status and time", arguments: TestEngine.available)
    func outboxStatusSurvivesTheUpgrade(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let location = try await scratch.make("upgrade")
            // A store as version 2 left it, with one row in each status.
            let old = try await StoreDatabase.open(location, logger: ScratchLocations.logger)
            try await Migrator.migrate(old, kind: .bridge, migrations: Array(BridgeStore.migrations.prefix(2)), logger: ScratchLocations.logger)
            try await old.transaction { sql in
                try await sql.raw("""
                    INSERT INTO decisions (message_id, source_topic, partition_id, source_offset, outcome, bridge_version, decided_at)
                    VALUES ('m', 'health.ips.outbound', 0, 0, 'forward', 'v', '2026-01-01T00:00:00.000Z')
                    """).run()
                for (status, at, reason) in [("published", "'2026-01-02T00:00:00.000Z'", "NULL"), ("pending", "NULL", "NULL"), ("withheld", "'2026-01-03T00:00:00.000Z'", "'consent-withdrawn'")] {
                    try await sql.raw("""
                        INSERT INTO outbox (message_id, topic, headers, payload, created_at, status, status_at, status_reason)
                        VALUES ('m', 'nav.ips.inbound', 'h1:', \(bind: Data([1])), '2026-01-01T00:00:00.000Z', \(bind: status), \(unsafeRaw: at), \(unsafeRaw: reason))
                        """).run()
                }
            }
            await old.close()

            let store = try await BridgeStore.open(location, logger: ScratchLocations.logger)
            #expect(try await store.pendingOutbox(limit: 10).map(\.sequence) == [2])
            let done = try await store.database.read { sql in
                try await sql.raw("SELECT seq, status, status_at, status_reason FROM outbox_done ORDER BY seq").all().map {
                    [String(try $0.decode(column: "seq", as: Int64.self)), try $0.decode(column: "status", as: String.self),
                     try $0.decode(column: "status_at", as: String.self), try $0.decode(column: "status_reason", as: String?.self) ?? "-"]
                }
            }
            #expect(done == [["1", "published", "2026-01-02T00:00:00.000Z", "-"], ["3", "withheld", "2026-01-03T00:00:00.000Z", "consent-withdrawn"]])
            // And the relay's path works on the upgraded store.
            try await store.markPublished(sequences: [2, 3])
            #expect(try await store.pendingOutbox(limit: 10).isEmpty)
            let statuses = try await store.database.read { sql in
                try await sql.raw("SELECT status FROM outbox_status ORDER BY seq").all().map { try $0.decode(column: "status", as: String.self) }
            }
            #expect(statuses == ["published", "published", "withheld"], "a settled row is never settled again")
            await store.close()
        }
    }
}
