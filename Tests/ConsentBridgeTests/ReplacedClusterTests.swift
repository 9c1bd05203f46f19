import ConsentBridge
import ConsentBridgeTesting
import ConsentConfiguration
import ConsentContracts
import ConsentKafka
import ConsentStorage
import Foundation
import Logging
import Testing

/// Kafka rebuilt, restored or failed over behind the same address: the bridge's stored positions
/// count records of the old cluster's logs, and resumed on the new one they would skip its
/// first records (consents included) silently. An outside audit saw 12 events per run end with
/// no receipt, rejection or decision that way.
@Suite(
    "A replaced Kafka cluster (embedded broker; SQLite, and PostgreSQL when available)", .serialized,
    .timeLimit(.minutes(5)))
struct ReplacedClusterTests {
    static let patient = "12848740088"
    static let other = "03919540000"

    @Test(
        "Nothing lost (R5): a Kafka cluster replaced by one whose logs are longer than the stored positions halts the bridge before it reads anything; adopted by an operator, every event on it is decided exactly once, under its withdrawal",
        arguments: BridgeStoreEngine.available)
    func replacedClusterHaltsUntilAdopted(engine: BridgeStoreEngine) async throws {
        let harness = try await BridgeHarness.make(engine: engine, partitions: 1)
        try await harness.start()
        try await harness.publishConsent(patient: Self.patient, try Fixtures.consent(patient: Self.patient))
        for _ in 0..<3 {
            try await harness.publishEvent(
                topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: Self.patient,
                body: try Fixtures.referral(patient: Self.patient))
        }
        let firstReceipts = try await harness.read(harness.topics.healthReceipts, atLeast: 3)
        #expect(firstReceipts.count == 3)
        // Accepted: the consent is read and in force, so what the new cluster's referrals meet
        // below is the withdrawal, not a consent the bridge never could read.
        #expect(
            try firstReceipts.allSatisfy {
                try BridgeReceipt(json: StrictJSON.parse($0.value ?? [])).outcome == .accepted
            })
        await harness.stop()

        // The new cluster's logs are longer than the stored positions (consent topic: 1,
        // referrals: 3). Its consent log starts with the patient's withdrawal, which a bridge
        // resuming at position 1 would never read; its referrals, which it would partly skip.
        try await harness.replaceCluster()
        try await harness.publishConsent(
            patient: Self.patient, try Fixtures.consent(patient: Self.patient, status: "withdrawn", version: 2))
        try await harness.publishConsent(patient: Self.other, try Fixtures.consent(patient: Self.other))
        var referrals: [String] = []
        for _ in 0..<6 {
            referrals.append(
                try await harness.publishEvent(
                    topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: Self.patient,
                    body: try Fixtures.referral(patient: Self.patient)))
        }

        // Refused before any service runs: neither pipeline reads, and the relay publishes
        // nothing (with each side on a cluster of its own, an outside audit saw identified
        // copies published to a NAV cluster never adopted before a consumer's check stopped it).
        let refusal = await #expect(throws: StorageError.self, "the bridge started on a replaced cluster") {
            try await harness.start()
        }
        #expect(refusal?.code == .kafkaClusterReplaced)
        #expect(refusal?.description.contains("kafka-cluster adopt --store bridge --replacing") == true)
        #expect(
            harness.logs.all.contains { $0.contains("kafka-cluster-replaced") && $0.contains("kafka-cluster adopt") },
            "the halt's reason is not logged where operators look")
        await harness.stop()
        // Halted before reading: nothing crossed, nothing was decided.
        #expect(try await harness.read(harness.topics.followUpInbound, atLeast: 0).isEmpty)
        #expect(try await harness.read(harness.topics.healthReceipts, atLeast: 0).isEmpty)

        // The operator's decision, as `kafka-cluster adopt` makes it: the positions read from
        // the old cluster are forgotten and bound to the new one.
        let admin = try KafkaAdmin(
            configuration: KafkaClientConfiguration(bootstrapServers: harness.cluster.bootstrapServers),
            logger: Logger(label: "admin") { _ in SwiftLogNoOpLogHandler() })
        let newID = try await admin.clusterID()
        await admin.close()
        let store = try await harness.openBridgeStore()
        let oldIDs = Set(try await store.database.kafkaClusterBindings().map(\.clusterID))
        #expect(oldIDs.count == 1 && !oldIDs.contains(newID))
        let moved = try await store.database.adoptKafkaCluster(replacing: try #require(oldIDs.first), with: newID)
        #expect(Set(moved.map(\.topic)).isSuperset(of: [harness.topics.healthConsent, harness.topics.healthOutbound]))
        await store.close()

        try await harness.start()
        let receipts = try await harness.read(harness.topics.healthReceipts, atLeast: 6)
        let forwarded = try await harness.read(harness.topics.followUpInbound, atLeast: 0)
        await harness.finish()

        // Every referral on the new cluster decided exactly once, under the withdrawal read
        // from the start of its consent log; each receipt as its contract says.
        #expect(forwarded.isEmpty, "a referral crossed after its patient's withdrawal")
        #expect(receipts.count == 6)
        #expect(Set(receipts.compactMap(\.key).map { String(decoding: $0, as: UTF8.self) }) == Set(referrals))
        let catalog = try ContractCatalog.load(directory: BridgeHarness.contractsDirectory)
        for receipt in receipts {
            let value = try StrictJSON.parse(receipt.value ?? [])
            let type = try #require(receipt.headers.string(named: "ce_type"))
            let contract = try #require(catalog.contract(forCEType: type))
            #expect(contract.schema.validate(value).isEmpty, "a receipt breaks its contract")
            let body = try #require(try JSONSerialization.jsonObject(with: Data(receipt.value ?? [])) as? [String: Any])
            #expect(body["reasonCode"] as? String == "referral-requires-consent")
        }
    }

    @Test(
        "Nothing crosses after a withdrawal (R5): a Kafka cluster replaced under the running bridge, its consent log longer than the view's position and starting with the patient's withdrawal, stops the bridge before it decides anything fetched from it, without waiting for the guard's periodic check",
        arguments: BridgeStoreEngine.available)
    func replacedUnderTheRunningBridge(engine: BridgeStoreEngine) async throws {
        let harness = try await BridgeHarness.make(engine: engine, partitions: 1)
        try harness.useStableBootstrap()
        // The guard's periodic check never comes: only the confirmation per batch can catch it.
        try await harness.start(clusterCheckInterval: .seconds(3600))
        func referral() async throws -> String {
            try await harness.publishEvent(
                topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: Self.patient,
                body: try Fixtures.referral(patient: Self.patient))
        }
        // The first cluster: the consent log 5 records long, 2 referrals crossed.
        try await harness.publishConsent(patient: Self.patient, try Fixtures.consent(patient: Self.patient))
        for version in 1...4 {
            try await harness.publishConsent(
                patient: Self.other, try Fixtures.consent(patient: Self.other, version: version))
        }
        for _ in 0..<2 { _ = try await referral() }
        #expect(try await harness.read(harness.topics.followUpInbound, atLeast: 2).count == 2)
        #expect(try await harness.read(harness.topics.healthReceipts, atLeast: 2).count == 2)

        // Rebuilt behind the same address while the bridge runs. The new consent log starts
        // with the patient's withdrawal and is longer (7) than the view's position (5); the new
        // referral log is longer (5) than the pipeline's position (2). Resuming there, the
        // bridge would read the referrals at 2-4 under a view that never read the withdrawal.
        try await harness.replaceClusterUnderTheBridge()
        try await harness.publishConsent(
            patient: Self.patient, try Fixtures.consent(patient: Self.patient, status: "withdrawn", version: 2))
        for version in 1...6 {
            try await harness.publishConsent(
                patient: Self.other, try Fixtures.consent(patient: Self.other, version: version))
        }
        for _ in 0..<5 { _ = try await referral() }

        let halt = await harness.haltError(within: .seconds(60))
        #expect(
            (halt as? StorageError)?.code == .kafkaClusterReplaced, "the bridge went on: \(String(describing: halt))")
        #expect(
            harness.logs.all.contains { $0.contains("kafka-cluster-replaced") },
            "the halt's reason is not logged where operators look")
        #expect(
            try await harness.read(harness.topics.followUpInbound, atLeast: 0).isEmpty,
            "a referral crossed to the new cluster after its patient's withdrawal")
        #expect(
            try await harness.read(harness.topics.healthReceipts, atLeast: 0).isEmpty,
            "an event on the new cluster was decided")
        #expect(!harness.logs.all.contains { $0.contains(Self.patient) }, "the fødselsnummer reached a log line")
        await harness.finish()
    }

    @Test(
        "R4/R9: a recipient's Kafka cluster replaced under the running bridge receives nothing: the relay confirms a side's cluster before it publishes there, and the bridge stops, its copy left pending"
    )
    func replacedRecipientClusterReceivesNothing() async throws {
        let harness = try BridgeHarness(partitions: 1)
        // The NAV side on a cluster of its own, behind a fixed address so that it can be
        // replaced while the bridge runs. Nothing is published on NAV's side: its pipeline has
        // no batch to confirm the cluster before, and the guard's periodic check never comes.
        let nav = try harness.makeNavCluster()
        var forwarder = try LoopbackForwarder(
            port: 0, targetPort: try BridgeHarness.port(of: nav), logger: Logger(label: "forwarder"))
        let address = "127.0.0.1:\(forwarder.port)"
        try await harness.start(navBootstrap: address, clusterCheckInterval: .seconds(3600))
        func referral() async throws -> String {
            try await harness.publishEvent(
                topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: Self.patient,
                body: try Fixtures.referral(patient: Self.patient))
        }
        try await harness.publishConsent(patient: Self.patient, try Fixtures.consent(patient: Self.patient))
        _ = try await referral()
        let crossed = try await BridgeHarness.read(
            harness.topics.followUpInbound, bootstrap: nav.bootstrapServers, atLeast: 1)
        #expect(crossed.count == 1, "the first referral's copy did not reach NAV's cluster")

        // NAV's cluster rebuilt behind the same address (a standby taking over, or the address
        // pointed elsewhere): never adopted, so nothing identified may reach it.
        let replacement = try harness.makeNavCluster()
        nav.setBrokerDown()
        forwarder.stop()
        forwarder = try LoopbackForwarder(
            port: forwarder.port, targetPort: try BridgeHarness.port(of: replacement),
            logger: Logger(label: "forwarder"))
        for _ in 0..<3 { _ = try await referral() }

        let halt = await harness.haltError(within: .seconds(60))
        #expect(
            (halt as? StorageError)?.code == .kafkaClusterReplaced, "the bridge went on: \(String(describing: halt))")
        for topic in [harness.topics.followUpInbound, harness.topics.navInbound] {
            #expect(
                try await BridgeHarness.read(topic, bootstrap: replacement.bootstrapServers, atLeast: 0).isEmpty,
                "a copy reached the replaced NAV cluster on \(topic)")
        }
        #expect(!harness.logs.all.contains { $0.contains(Self.patient) }, "the fødselsnummer reached a log line")
        // Nothing lost: what was not published waits in the store for the start after adoption.
        await harness.stop()
        let store = try await harness.openBridgeStore()
        let pending = try await store.pendingOutboxCount()
        await store.close()
        #expect(pending >= 3, "the referrals' copies left no pending rows")
        await harness.finish()
        forwarder.stop()
        nav.shutdown()
        replacement.shutdown()
    }
}
