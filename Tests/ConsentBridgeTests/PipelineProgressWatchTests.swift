import ConsentBridge
import ConsentConfiguration
import ConsentKafka
import ConsentStorage
import Foundation
import Logging
import Testing

/// The stall watch on a real embedded broker and a real SQLite bridge store: records waiting
/// and stored offsets that do not move make the process not live; progress clears it.
@Suite("Pipeline progress watch")
struct PipelineProgressWatchTests {
    @Test("Records waiting and no offset progress: stalled after the limit; offsets moving clears it")
    func stalledPipelineIsReported() async throws {
        let logger = Logger(label: "watch") { _ in SwiftLogNoOpLogHandler() }
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: logger)
        defer { cluster.shutdown() }
        let topic = "health.ips.outbound"
        try cluster.createTopic(topic, partitions: 2)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("watch-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await BridgeStore.open(.sqlite(path: directory + "/bridge.sqlite"), logger: logger)

        let client = KafkaClientConfiguration(
            bootstrapServers: cluster.bootstrapServers, properties: ["fetch.wait.max.ms": "10"])
        let producer = try KafkaProducer(configuration: client, logger: logger)
        for index in 0..<10 {
            _ = try await producer.send(
                KafkaOutgoingRecord(topic: topic, partition: Int32(index % 2), key: nil, value: Array("{}".utf8)))
        }
        await producer.close()
        // A consumer that is assigned but whose records nobody processes: a stalled pipeline.
        let consumer = try KafkaConsumer(
            configuration: .init(client: client, groupID: "bridge", topics: [topic]), logger: logger)
        try consumer.start()
        for await change in consumer.assignmentChanges {
            if case .assigned = change { break }
        }
        // The pipeline had recorded the first two records of each partition, then stopped.
        let group = "bridge"
        func storeOffsets(_ next: Int64) async throws {
            _ = try await store.record(
                BridgeBatch(
                    messages: [],
                    offsets: [0, 1].map {
                        ConsumerOffset(consumerGroup: group, topic: topic, partition: $0, nextOffset: next)
                    }))
        }
        try await storeOffsets(2)

        let watch = PipelineProgressWatch(
            side: .health, topic: topic, group: group, consumer: consumer, store: store, stallAfter: .seconds(1))
        #expect(await watch.check() == nil, "not stalled before the limit")
        try await Task.sleep(for: .milliseconds(1200))
        #expect(await watch.check() == "health pipeline stalled")
        #expect(watch.problem == "health pipeline stalled")

        try await storeOffsets(3)
        #expect(await watch.check() == nil, "offsets moved: progress")
        try await storeOffsets(5)
        try await Task.sleep(for: .milliseconds(1200))
        #expect(await watch.check() == nil, "caught up: nothing waiting, so no stall however long it is quiet")

        // The store stops answering (an outside audit terminated the bridge's PostgreSQL
        // connection; here the store is closed): not ready at once, and not live after the
        // limit, so that the process is restarted and connects afresh. Before, the watch gave
        // no verdict without the stored offsets and both health endpoints said 200 for good.
        await store.close()
        // Not ready at once, live until the limit (a watch with a limit no loaded machine
        // reaches here: a closed store may answer only at the 5 s timeout).
        let patient = PipelineProgressWatch(
            side: .health, topic: topic, group: group, consumer: consumer, store: store, stallAfter: .seconds(60))
        #expect(await patient.check() == "bridge store not answering")
        #expect(patient.problem == nil, "live until the limit")
        try await Task.sleep(for: .milliseconds(1200))
        #expect(await watch.check() == "health pipeline stalled: bridge store not answering")
        #expect(watch.problem == "health pipeline stalled: bridge store not answering")

        await consumer.close()
    }
}
