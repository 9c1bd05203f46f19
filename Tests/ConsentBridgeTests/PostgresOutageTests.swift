import ConsentBridge
import ConsentBridgeTesting
import ConsentConfiguration
import ConsentContracts
import ConsentKafka
import ConsentStorage
import Foundation
import Logging
import SQLKit
import Testing

/// The bridge on PostgreSQL when the server ends its connections mid-stream (an operator's
/// `pg_terminate_backend`, a failover, a restart): an outside audit saw the bridge stop for
/// good while its health endpoints answered 200. It must heal by itself, with nothing lost or
/// decided twice.
@Suite("PostgreSQL outage under a running bridge (embedded broker; PostgreSQL)", .serialized, .timeLimit(.minutes(5)))
struct PostgresOutageTests {
    static let patient = BridgeEndToEndTests.patient

    @Test(
        "Nothing lost: the bridge store's connections terminated mid-stream, the bridge connects afresh by itself and decides every event exactly once, and is ready again",
        .enabled(if: BridgeStoreEngine.postgresURL != nil, Comment(rawValue: TestDatabaseEngine.skipMessage)))
    func terminatedConnectionsHealWithoutARestart() async throws {
        let (harness, referrals) = try await Self.startWithConsent()
        let topics = harness.topics
        var ids: [String] = []
        func publish(_ count: Int) async throws { ids += try await referrals.publish(count) }
        try await publish(10)
        #expect(try await harness.read(topics.healthReceipts, atLeast: 10).count == 10)

        // The server ends every session of the bridge's database, then more events come.
        let location = try #require(harness.configuration.bridgeStore)
        let admin = try await StoreDatabase.open(location, logger: Logger(label: "admin"))
        let terminated = try await admin.read { sql in
            try await sql.raw(
                """
                SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
                """
            ).all().count
        }
        await admin.close()
        #expect(terminated >= 1, "premise: the bridge had a session to end")
        try await publish(20)

        let receipts = try await harness.read(topics.healthReceipts, atLeast: 30, timeout: .seconds(120))
        // One copy per recipient role the consent names, each on that role's own topic.
        var copies: [String: [KafkaRecord]] = [:]
        for topic in [topics.navInbound, topics.followUpInbound] {
            copies[topic] = try await harness.read(topic, atLeast: 0)
        }
        let application = try #require(harness.application)
        try await WholeProductTests.poll("the bridge is ready again", timeout: .seconds(60)) {
            await application.readiness.problems().isEmpty
        }
        let reconnected = harness.logs.all.contains { $0.contains("PostgreSQL store connection re-established") }
        await harness.finish()

        // Every event once: one receipt each, accepted, and each forwarded copy once.
        let keys = receipts.compactMap(\.key).map { String(decoding: $0, as: UTF8.self) }
        #expect(keys.sorted() == ids.sorted(), "receipts lost or doubled across the outage")
        let catalog = try ContractCatalog.load(directory: BridgeHarness.contractsDirectory)
        for receipt in receipts {
            let value = try StrictJSON.parse(receipt.value ?? [])
            let type = try #require(receipt.headers.string(named: "ce_type"))
            #expect(try #require(catalog.contract(forCEType: type)).schema.validate(value).isEmpty)
            #expect(try ReceiptBody(receipt).outcome == "accepted")
        }
        #expect(copies.values.contains { !$0.isEmpty }, "nothing crossed")
        for (topic, records) in copies where !records.isEmpty {
            let copyIDs = records.compactMap { $0.headers.string(named: "ce_id") }
            #expect(
                Set(copyIDs).count == 30 && copyIDs.count == 30, "\(topic): \(copyIDs.count) copies of 30 referrals")
        }
        #expect(reconnected, "no log line says the store connected afresh")
    }

    @Test(
        "Readiness says at once that the bridge store turned read-only (as a demoted primary after a failover) and that the bridge retries; writable again, it heals by itself and decides every event once",
        .enabled(if: BridgeStoreEngine.postgresURL != nil, Comment(rawValue: TestDatabaseEngine.skipMessage)))
    func readOnlyStoreIsReportedAtOnceAndHeals() async throws {
        let (harness, referrals) = try await Self.startWithConsent()
        let topics = harness.topics
        var ids: [String] = []
        func publish(_ count: Int) async throws { ids += try await referrals.publish(count) }
        try await publish(5)
        #expect(try await harness.read(topics.healthReceipts, atLeast: 5).count == 5)
        let application = try #require(harness.application)

        let admin = try await StoreDatabase.open(
            try #require(harness.configuration.bridgeStore), logger: Logger(label: "admin"))
        func readOnly(_ on: Bool) async throws {
            try await admin.read { sql in
                let name = try #require(
                    try await sql.raw("SELECT current_database() AS name").first()?.decode(
                        column: "name", as: String.self))
                try await sql.raw(
                    "ALTER DATABASE \(ident: name) SET default_transaction_read_only = \(unsafeRaw: on ? "on" : "off")"
                ).run()
                if on {
                    // Sessions take the setting when they start: end the bridge's.
                    try await sql.raw(
                        """
                        SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                        WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
                        """
                    ).run()
                }
            }
        }
        try await readOnly(true)
        try await publish(5)
        var problems: [String] = []
        try await WholeProductTests.poll("readiness names the read-only store", timeout: .seconds(60)) {
            problems = await application.readiness.problems()
            return problems.contains { $0.contains("read-only") }
        }
        #expect(
            problems.contains { $0.hasPrefix("retrying after infrastructure errors") && $0.contains("sqlstate 25006") },
            "\(problems)")

        try await readOnly(false)
        await admin.close()
        let receipts = try await harness.read(topics.healthReceipts, atLeast: 10, timeout: .seconds(120))
        try await WholeProductTests.poll("the bridge is ready again", timeout: .seconds(60)) {
            await application.readiness.problems().isEmpty
        }
        await harness.finish()
        let keys = receipts.compactMap(\.key).map { String(decoding: $0, as: UTF8.self) }
        #expect(keys.sorted() == ids.sorted(), "receipts lost or doubled across the read-only spell")
        #expect(!problems.joined().contains(Self.patient))
    }
}

extension PostgresOutageTests {
    /// A running bridge on a scratch PostgreSQL store, with the patient's consent published,
    /// and what publishes referrals about the patient (returning their ids).
    static func startWithConsent() async throws -> (BridgeHarness, Referrals) {
        let harness = try await BridgeHarness.make(engine: .postgres)
        try await harness.start()
        try await harness.publishConsent(patient: Self.patient, try Fixtures.consent(patient: Self.patient))
        return (harness, Referrals(harness: harness))
    }

    /// Publishes the patient's referrals to the health side's outbound topic.
    struct Referrals {
        let harness: BridgeHarness

        func publish(_ count: Int) async throws -> [String] {
            var ids: [String] = []
            for _ in 0..<count {
                ids.append(
                    try await harness.publishEvent(
                        topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1",
                        key: PostgresOutageTests.patient,
                        body: try Fixtures.referral(patient: PostgresOutageTests.patient)))
            }
            return ids
        }
    }
}

/// A receipt's body, as far as this suite reads it.
private struct ReceiptBody {
    let outcome: String?

    init(_ record: KafkaRecord) throws {
        let object = try JSONSerialization.jsonObject(with: Data(record.value ?? [])) as? [String: Any]
        outcome = object?["outcome"] as? String
    }
}
