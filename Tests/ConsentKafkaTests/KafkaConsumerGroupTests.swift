import ConsentKafka
import Foundation
import Synchronization
import Testing

/// Offsets kept by the caller (as the bridge keeps them in its store), shared by the group.
final class OffsetStore: Sendable {
    private let offsets = Mutex<[KafkaTopicPartition: Int64]>([:])

    func load(_ partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition: Int64] {
        offsets.withLock { stored in stored.filter { partitions.contains($0.key) } }
    }

    func record(_ batch: [KafkaRecord]) {
        offsets.withLock { stored in
            for record in batch {
                stored[record.topicPartition] = max(stored[record.topicPartition] ?? 0, record.offset + 1)
            }
        }
    }
}

@Suite("Consumer groups on the embedded cluster")
struct KafkaConsumerGroupTests {
    @Test("two consumers split the partitions; when one leaves the other takes over without loss or skip")
    func groupSplitsAndTakesOver() async throws {
        let topic = KafkaTestSupport.unique("group")
        let partitions: Int32 = 6
        let cluster = try KafkaTestSupport.cluster(topics: [topic: Int(partitions)])
        defer { cluster.shutdown() }
        let producer = try KafkaTestSupport.producer(cluster)
        func produce(_ range: Range<Int>) async throws {
            let records = range.flatMap { index in
                (0..<partitions).map {
                    KafkaOutgoingRecord(topic: topic, partition: $0, key: nil, value: Array("\(index)".utf8))
                }
            }
            _ = try await producer.send(records).map { try $0.get() }
        }
        try await produce(0..<100)

        let store = OffsetStore()
        let group = KafkaTestSupport.unique("group")
        let collector = RecordCollector()
        func start() throws -> (KafkaConsumer, Task<Void, any Error>) {
            let consumer = try KafkaTestSupport.consumer(cluster, group: group, topics: [topic]) { partitions, _ in
                store.load(partitions)
            }
            let reader = Task {
                for try await batch in consumer.batches {
                    collector.append(batch)
                    store.record(batch)
                }
            }
            return (consumer, reader)
        }
        let (first, firstReader) = try start()
        let (second, secondReader) = try start()

        // Both members get a share, and the shares are disjoint and cover the topic.
        // A deadline, not a timing assertion (missed by 0.7 s once under the full parallel suite).
        let deadline = ContinuousClock.now + .seconds(90)
        while first.currentAssignment.isEmpty || second.currentAssignment.isEmpty
            || first.currentAssignment.count + second.currentAssignment.count != Int(partitions)
        {
            try #require(ContinuousClock.now < deadline, "the group never split the partitions")
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(first.currentAssignment.isDisjoint(with: second.currentAssignment))
        #expect(first.currentAssignment.union(second.currentAssignment).count == Int(partitions))
        #expect(await collector.waitFor(count: 600, timeout: KafkaTestSupport.arrivalDeadline))

        // The second member leaves; the first takes over every partition from the stored offsets.
        await second.close()
        try await secondReader.value
        try await produce(100..<200)
        let takeoverDeadline = ContinuousClock.now + .seconds(40)
        while first.currentAssignment.count != Int(partitions) {
            try #require(ContinuousClock.now < takeoverDeadline, "the remaining member never took over")
            try await Task.sleep(for: .milliseconds(50))
        }
        let uniqueCount = { Set(collector.all.map { "\($0.partition)/\($0.offset)" }).count }
        let allDeadline = ContinuousClock.now + .seconds(30)
        while uniqueCount() < 1200, ContinuousClock.now < allDeadline { try await Task.sleep(for: .milliseconds(50)) }
        await first.close()
        try await firstReader.value
        await producer.close()

        for partition in 0..<partitions {
            let offsets = Set(collector.all.filter { $0.partition == partition }.map(\.offset))
            #expect(offsets == Set(0..<200), "partition \(partition) lost or skipped records")
        }
    }

    @Test("a consumer whose stored offsets cannot be read stops with that error instead of reading")
    func failingOffsetLookupStopsTheConsumer() async throws {
        struct StoreDown: Error {}
        let topic = KafkaTestSupport.unique("failclosed")
        let cluster = try KafkaTestSupport.cluster(topics: [topic: 1])
        defer { cluster.shutdown() }
        let producer = try KafkaTestSupport.producer(cluster)
        _ = try await producer.send(KafkaOutgoingRecord(topic: topic, key: nil, value: Array("x".utf8)))
        await producer.close()
        let consumer = try KafkaTestSupport.consumer(cluster, group: KafkaTestSupport.unique("g"), topics: [topic]) {
            _, _ in throw StoreDown()
        }
        var received = 0
        await #expect(throws: StoreDown.self) {
            for try await batch in consumer.batches { received += batch.count }
        }
        #expect(received == 0)
        await consumer.close()
    }
}
