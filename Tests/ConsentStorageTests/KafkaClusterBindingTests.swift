import ConsentBridgeTesting
import ConsentContracts
import ConsentStorage
import Foundation
import Testing

/// Stored positions count records of one Kafka cluster's log; every store that keeps them
/// refuses to hand them out for another cluster until an operator adopts it.
@Suite("Consumer positions bound to their Kafka cluster")
struct KafkaClusterBindingTests {
    static let consentTopic = "health.consent"
    static let healthTopic = "health.ips.outbound"
    static let navTopic = "nav.ips.outbound"

    @Test(
        "Nothing lost: positions read from one Kafka cluster are refused on another until an operator adopts it, which forgets only that cluster's positions",
        arguments: TestEngine.available)
    func positionsAreRefusedOnAnotherCluster(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await BridgeStore.open(try await scratch.make("bindings"), logger: ScratchLocations.logger)
            let database = store.database
            // The health side's topics on cluster A, the NAV side's on cluster N; positions read.
            #expect(
                try await database.kafkaPositions(
                    consumerGroup: "g", topics: [Self.healthTopic], clusterID: "A", store: .bridge
                )
                .isEmpty)
            #expect(
                try await database.kafkaPositions(
                    consumerGroup: "g", topics: [Self.navTopic], clusterID: "N", store: .bridge
                ).isEmpty)
            try await store.saveConsentView(
                upserts: [], removals: [],
                offsets: [
                    ConsumerOffset(consumerGroup: "g", topic: Self.healthTopic, partition: 0, nextOffset: 50),
                    ConsumerOffset(consumerGroup: "g", topic: Self.navTopic, partition: 1, nextOffset: 7),
                ])

            // The same clusters again: the positions, each topic's own.
            let health = try await database.kafkaPositions(
                consumerGroup: "g", topics: [Self.healthTopic], clusterID: "A", store: .bridge)
            #expect(health.map(\.nextOffset) == [50])
            #expect(
                try await database.kafkaPositions(
                    consumerGroup: "g", topics: [Self.navTopic], clusterID: "N", store: .bridge
                ).map(
                    \.nextOffset) == [7])

            // The health side's cluster replaced by B: refused, and nothing changes.
            let refusal = await #expect(throws: StorageError.self) {
                try await database.kafkaPositions(
                    consumerGroup: "g", topics: [Self.healthTopic], clusterID: "B", store: .bridge)
            }
            #expect(refusal?.code == .kafkaClusterReplaced)
            // The operator is told which clusters and what to run; ids and topics only.
            #expect(
                refusal?.description.contains("--store bridge --replacing A --with B") == true,
                "\(String(describing: refusal))")
            #expect(try await database.kafkaClusterBindings().map(\.clusterID) == ["A", "N"])

            // Adopted: the health topic's position is forgotten (read from the new log's start),
            // the NAV side's kept; B's assignments get positions from then on.
            let moved = try await database.adoptKafkaCluster(replacing: "A", with: "B")
            #expect(moved.map(\.topic) == [Self.healthTopic])
            #expect(
                try await database.kafkaPositions(
                    consumerGroup: "g", topics: [Self.healthTopic], clusterID: "B", store: .bridge
                )
                .isEmpty)
            #expect(
                try await database.kafkaPositions(
                    consumerGroup: "g", topics: [Self.navTopic], clusterID: "N", store: .bridge
                ).map(
                    \.nextOffset) == [7])
            // And the old cluster is now the stranger.
            await #expect(throws: StorageError.self) {
                try await database.kafkaPositions(
                    consumerGroup: "g", topics: [Self.healthTopic], clusterID: "A", store: .bridge)
            }
            await store.close()
        }
    }

    @Test(
        "Nothing lost: a store upgraded with positions binds them to the cluster of its first assignment, and a sink store checks its positions as the bridge store does",
        arguments: TestEngine.available)
    func sinkStoresAndUpgradedPositions(engine: TestEngine) async throws {
        try await withScratch(engine) { scratch in
            let store = try await HealthJournalStore.open(
                try await scratch.make("journal"), breaches: Fixtures.breaches(.healthJournalSink),
                logger: ScratchLocations.logger)
            let topic = HealthSinkPolicy.standard.inboundTopic
            // Positions stored before any binding (as a store upgraded from before the table holds).
            _ = try await store.apply(
                SinkBatch(
                    consumerGroup: "health-sink",
                    records: [
                        Fixtures.event(topic: topic, offset: 0, ceID: "job-1", ceType: "no.ips.nav.job-status.v1")
                    ]))
            #expect(try await store.database.kafkaClusterBindings().isEmpty)
            let first = try await store.database.kafkaPositions(
                consumerGroup: "health-sink", topics: [topic], clusterID: "A", store: .healthJournal)
            #expect(first.map(\.nextOffset) == [1])
            let refusal = await #expect(throws: StorageError.self) {
                try await store.database.kafkaPositions(
                    consumerGroup: "health-sink", topics: [topic], clusterID: "B", store: .healthJournal)
            }
            #expect(refusal?.code == .kafkaClusterReplaced)
            await store.close()
        }
    }
}
