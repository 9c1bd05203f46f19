import ConsentBridge
import ConsentConfiguration
import ConsentKafka
import ConsentStorage
import Foundation
import Logging
import Testing

/// Operators see how far each sink is behind its topics (`consent_bridge_sink_lag_records`).
@Suite("Sink lag gauge", .timeLimit(.minutes(2)))
struct SinkLagGaugeTests {
    @Test("counts the records on a sink's topics beyond its stored offsets, and zero once they are applied")
    func countsUnappliedRecords() async throws {
        var logger = Logger(label: "sink-lag-test")
        logger.logLevel = .warning
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: logger)
        defer { cluster.shutdown() }
        let policy = NavSinkPolicy.standard
        for topic in policy.topics { try cluster.createTopic(topic, partitions: 2) }
        let client = KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers)
        let producer = try KafkaProducer(configuration: client, logger: logger)
        let records = (0..<7).map { index in
            KafkaOutgoingRecord(
                topic: policy.ownOutboundTopic, partition: Int32(index % 2), key: Array("p-\(index)".utf8),
                value: Array("{}".utf8))
        }
        for report in try await producer.send(records) { _ = try report.get() }
        await producer.close()

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lag-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await NavSystemStore.open(.sqlite(path: directory + "/nav.sqlite"), logger: logger)
        let admin = try KafkaAdmin(configuration: client, logger: logger)
        let metrics = BridgeMetrics()
        let gauge = SinkLagGauge(store: store, groupID: "nav-sink", admin: admin, metrics: metrics, logger: logger)
        #expect(try await gauge.lag() == 7)

        // The sink applies partition 0's four records (refused or not, their offsets move).
        let applied = (0..<4).map { offset in
            SinkRecord(
                topic: policy.ownOutboundTopic, partition: 0, offset: Int64(offset), key: nil, value: Array("{}".utf8),
                headers: [])
        }
        _ = try await store.apply(SinkBatch(consumerGroup: "nav-sink", records: applied))
        #expect(try await gauge.lag() == 3)
        metrics.recordSinkLag(try await gauge.lag(), store: store.kind)
        #expect(metrics.prometheusText().contains(#"consent_bridge_sink_lag_records{store="nav-case"} 3"#))
        await admin.close()
        await store.close()
    }
}
