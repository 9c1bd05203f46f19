import ConsentKafka
import Foundation
import Testing

/// `KafkaConsumerConfiguration.batchLingerMilliseconds`: below saturation the bridge's
/// pipelines gather a batch for a while after its first record, so that a commit and the
/// Kafka requests of a batch are shared by more events (docs/performance.md).
@Suite("Kafka consumer batch linger on the embedded cluster", .timeLimit(.minutes(3)))
struct KafkaBatchLingerTests {
    /// Sends one record, then, `gap` later, four more; returns the consumer's first batch.
    private func firstBatch(lingerMilliseconds: Int, gap: Duration) async throws -> [KafkaRecord] {
        let topic = KafkaTestSupport.unique("linger")
        let cluster = try KafkaTestSupport.cluster(brokers: 1, topics: [topic: 1])
        defer { cluster.shutdown() }
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                client: KafkaClientConfiguration(
                    bootstrapServers: cluster.bootstrapServers, properties: KafkaTestSupport.consumerTuning),
                groupID: KafkaTestSupport.unique("g"), topics: [topic], maxBatchSize: 100,
                batchLingerMilliseconds: lingerMilliseconds),
            logger: KafkaTestSupport.logger)
        try consumer.start()
        let producer = try KafkaTestSupport.producer(cluster)
        let reader = Task { () -> [KafkaRecord] in
            for try await batch in consumer.batches { return batch }
            return []
        }
        func send(_ values: Range<Int>) async throws {
            let records = values.map {
                KafkaOutgoingRecord(topic: topic, key: nil, value: Array("\($0)".utf8), headers: [])
            }
            for report in try await producer.send(records) { _ = try report.get() }
        }
        // The first record once the consumer reads (its group join takes a few seconds): sent
        // earlier, the later ones could be fetched with it and the batch would prove nothing.
        let joined = ContinuousClock.now + KafkaTestSupport.arrivalDeadline
        while !consumer.hasJoinedGroup, ContinuousClock.now < joined { try await Task.sleep(for: .milliseconds(20)) }
        try await send(0..<1)
        try await Task.sleep(for: gap)
        try await send(1..<5)
        let batch = try await reader.value
        await producer.close()
        await consumer.close()
        return batch
    }

    @Test("with a linger, records sent shortly after a batch's first one arrive in that batch")
    func aLingeringBatchGathersWhatFollows() async throws {
        // 100 ms between the sends against a 5 s linger: wide, so that a starved machine does not
        // split the batch.
        let batch = try await firstBatch(lingerMilliseconds: 5_000, gap: .milliseconds(100))
        #expect(batch.map { String(decoding: $0.value ?? [], as: UTF8.self) } == ["0", "1", "2", "3", "4"])
    }

    @Test("without a linger, the first record is handed over alone")
    func withoutALingerTheFirstRecordGoesAlone() async throws {
        // 3 s between the sends: the first batch is handed over long before the others exist.
        let batch = try await firstBatch(lingerMilliseconds: 0, gap: .seconds(3))
        #expect(batch.map { String(decoding: $0.value ?? [], as: UTF8.self) } == ["0"])
    }
}
