import ConsentBridge
import ConsentKafka
import ConsentPolicy
import Foundation
import Logging
import Testing

/// The consent gate against a real (embedded) Kafka-protocol log: what counts as caught up.
@Suite("Consent gate", .timeLimit(.minutes(2)))
struct ConsentGateTests {
    @Test(
        "R5: a consent log that ends before what the view has read (recreated, truncated, another cluster) decides nothing"
    )
    func R5_aLogBehindTheViewKeepsTheGateClosed() async throws {
        // The cluster came back empty (an outside audit restarted the broker): the first record
        // on partition 2 since then, say a withdrawal, is at offset 0; the log ends at 1.
        let (cluster, admin, keeper) = try await Self.consentLog(partitions: 3, oneRecordOn: 2)
        defer { cluster.shutdown() }
        let topic = Self.topic
        // The bridge store's view had read the old log's partition 2 up to offset 50 (a grant).
        keeper.restore(entries: [], positions: [2: 50])
        let gate = ConsentGate(
            keeper: keeper, consentTopic: topic, partitionCount: 3, watermarkSource: admin, timeout: .seconds(2),
            consentCluster: .unchecked)
        // Before, 50 ≥ 1 counted as caught up at once, so events were decided under the old
        // view while the withdrawal at offset 0 was unread (a withdrawn person's referral crossed).
        let error = await #expect(throws: ConsentLogBehindView.self) { try await gate.waitUntilCurrent() }
        #expect(error?.partitions == [2])
        #expect(error.map { "\($0)" }?.contains("partitions 2") == true)

        // Once the view has read the log as it is (the consent consumer reads a partition whose
        // stored offset is out of range from its start), the gate opens again.
        keeper.restore(entries: [], positions: [2: 1])
        try await gate.waitUntilCurrent()
        await admin.close()
    }

    @Test("R5: partitions added to the consent topic after the start are waited for too")
    func R5_partitionsAddedLaterAreWaitedFor() async throws {
        // The bridge counted 3 partitions at its start; the topic has 6 now (librdkafka's mock
        // cannot add partitions to a topic, so the start's count is given as 3). A withdrawal
        // keyed to one of the new partitions is not yet in the view.
        let (cluster, admin, keeper) = try await Self.consentLog(partitions: 6, oneRecordOn: 5)
        defer { cluster.shutdown() }
        let topic = Self.topic
        let gate = ConsentGate(
            keeper: keeper, consentTopic: topic, partitionCount: 3, watermarkSource: admin, timeout: .seconds(2),
            consentCluster: .unchecked)
        // Asking partitions 0–2 only, the gate found the view current and events were decided
        // without the withdrawal.
        await #expect(throws: ConsentViewLagging.self) { try await gate.waitUntilCurrent() }
        #expect(gate.partitionCount == 6)
        #expect(try await gate.highWatermarks()[5] == 1)

        keeper.restore(entries: [], positions: [5: 1])
        try await gate.waitUntilCurrent()
        await admin.close()
    }

    static let topic = "health.consent"

    /// An embedded cluster whose consent topic has `partitions` partitions and one record on
    /// partition `oneRecordOn` (its log there ends at 1), a client that asks it, and an empty view.
    static func consentLog(partitions: Int, oneRecordOn partition: Int32) async throws -> (
        EmbeddedKafkaCluster, KafkaAdmin, ConsentViewKeeper
    ) {
        let logger = Logger(label: "gate-test") { _ in SwiftLogNoOpLogHandler() }
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: logger)
        try cluster.createTopic(topic, partitions: partitions)
        let client = KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers)
        let producer = try KafkaProducer(configuration: client, logger: logger)
        for report in try await producer.send([
            KafkaOutgoingRecord(topic: topic, partition: partition, key: Array("p".utf8), value: Array("{}".utf8))
        ]) {
            _ = try report.get()
        }
        await producer.close()
        let catalog = try PolicyCatalog.load(directory: BridgeHarness.contractsDirectory)
        let keeper = ConsentViewKeeper(consentSchema: try #require(catalog.consentSchema))
        return (cluster, try KafkaAdmin(configuration: client, logger: logger), keeper)
    }
}
