import ConsentKafka
import Foundation
import Synchronization
import Testing

@Suite("Kafka client round trips on the embedded cluster")
struct KafkaRoundTripTests {
    @Test("10,000 records keep keys, headers and per-partition order")
    func tenThousandRecordsRoundTrip() async throws {
        let topic = KafkaTestSupport.unique("roundtrip")
        let cluster = try KafkaTestSupport.cluster(brokers: 3, topics: [topic: 8])
        defer { cluster.shutdown() }
        let producer = try KafkaTestSupport.producer(cluster)
        let count = 10_000
        let records = (0..<count).map { index in
            KafkaOutgoingRecord(
                topic: topic,
                key: Array("patient-\(index % 97)".utf8),
                value: Array("{\"seq\":\(index)}".utf8),
                headers: [KafkaHeader(name: "ce_id", string: "id-\(index)"), KafkaHeader(name: "empty", value: nil)]
            )
        }
        let reports = try await producer.send(records)
        let delivered = try reports.map { try $0.get() }
        #expect(delivered.count == count)
        await producer.close()

        let received = try await KafkaTestSupport.read(count, from: topic, on: cluster)
        #expect(received.count == count)
        // Every record arrives once, with its key and headers, where the producer was told it is.
        var reportByID: [String: KafkaDeliveryReport] = [:]
        for (index, report) in delivered.enumerated() { reportByID["id-\(index)"] = report }
        for record in received {
            let id = try #require(record.headers.string(named: "ce_id"))
            let sequence = Int(id.dropFirst(3))!
            #expect(record.key == Array("patient-\(sequence % 97)".utf8))
            #expect(record.value == Array("{\"seq\":\(sequence)}".utf8))
            #expect(record.headers.contains(KafkaHeader(name: "empty", value: nil)))
            #expect(reportByID[id]?.partition == record.partition)
            #expect(reportByID[id]?.offset == record.offset)
        }
        #expect(Set(received.compactMap { $0.headers.string(named: "ce_id") }).count == count)
        // Per partition, offsets increase and records of one key keep the order they were sent in.
        for partition in Set(received.map(\.partition)) {
            let inPartition = received.filter { $0.partition == partition }
            #expect(inPartition.map(\.offset) == inPartition.map(\.offset).sorted())
            let sequences = inPartition.compactMap {
                $0.headers.string(named: "ce_id").flatMap { Int($0.dropFirst(3)) }
            }
            #expect(sequences == sequences.sorted())
        }
    }

    /// The producer hands header names to librdkafka by pointer and length: short names live
    /// inside the Swift string, long ones in its storage, and a name made by Foundation may be
    /// neither. Each must arrive byte for byte, in order, with its value.
    @Test("header names of every length and script arrive as sent, in order, with their values")
    func headerNamesArriveAsSent() async throws {
        let topic = KafkaTestSupport.unique("header-names")
        let cluster = try KafkaTestSupport.cluster(brokers: 1, topics: [topic: 1])
        defer { cluster.shutdown() }
        let producer = try KafkaTestSupport.producer(cluster)
        let headers = [
            KafkaHeader(name: "", string: "empty name"),
            KafkaHeader(name: "a", value: nil),
            KafkaHeader(name: "fifteen-bytes-x", string: "15"),
            KafkaHeader(name: "sixteen-bytes-xx", string: "16"),
            KafkaHeader(name: String(repeating: "long-name-", count: 4), value: []),
            KafkaHeader(name: "navn-æøå", string: "ikke-ascii"),
            KafkaHeader(name: String(format: "%@-%d", "formatted", 42), string: "from Foundation"),
            KafkaHeader(name: "a", string: "the same name again"),
        ]
        for report in try await producer.send([
            KafkaOutgoingRecord(topic: topic, key: nil, value: Array("{}".utf8), headers: headers)
        ]) {
            _ = try report.get()
        }
        await producer.close()

        let received = try #require(try await KafkaTestSupport.read(1, from: topic, on: cluster).first)
        #expect(received.headers == headers)
        #expect(received.headers.map { Array($0.name.utf8) } == headers.map { Array($0.name.utf8) })
    }

    @Test("a consumer starts exactly at the offsets the caller supplies")
    func resumesFromCallerSuppliedOffsets() async throws {
        let topic = KafkaTestSupport.unique("resume")
        let cluster = try KafkaTestSupport.cluster(topics: [topic: 2])
        defer { cluster.shutdown() }
        let producer = try KafkaTestSupport.producer(cluster)
        for partition in Int32(0)...1 {
            let batch = (0..<100).map {
                KafkaOutgoingRecord(
                    topic: topic, partition: partition, key: nil, value: Array("\(partition)-\($0)".utf8))
            }
            _ = try await producer.send(batch).map { try $0.get() }
        }
        await producer.close()

        let stored: [KafkaTopicPartition: Int64] = [
            KafkaTopicPartition(topic: topic, partition: 0): 42,
            KafkaTopicPartition(topic: topic, partition: 1): 99,
        ]
        let consumer = try KafkaTestSupport.consumer(cluster, group: KafkaTestSupport.unique("g"), topics: [topic]) {
            partitions, _ in
            #expect(Set(partitions) == Set(stored.keys))
            return stored
        }
        let collector = RecordCollector()
        let reader = consumer.drain(into: collector)
        #expect(await collector.waitFor(count: 58 + 1, timeout: KafkaTestSupport.arrivalDeadline))
        try await Task.sleep(for: .milliseconds(300))
        await consumer.close()
        try await reader.value

        let partition0 = collector.all.filter { $0.partition == 0 }.map(\.offset)
        let partition1 = collector.all.filter { $0.partition == 1 }.map(\.offset)
        #expect(partition0 == Array(42..<100))
        #expect(partition1 == [99])
    }

    @Test(
        "partitions without a stored offset start at their first record, reported as a concrete offset, never at the end"
    )
    func partitionsWithoutStoredOffsetStartAtTheirFirstRecord() async throws {
        let topic = KafkaTestSupport.unique("fresh-start")
        let cluster = try KafkaTestSupport.cluster(topics: [topic: 8])
        defer { cluster.shutdown() }
        let producer = try KafkaTestSupport.producer(cluster)
        for partition in Int32(0)..<8 {
            let batch = (0..<25).map {
                KafkaOutgoingRecord(
                    topic: topic, partition: partition, key: nil, value: Array("\(partition)-\($0)".utf8))
            }
            _ = try await producer.send(batch).map { try $0.get() }
        }
        await producer.close()

        // Partition 3 has a stored offset; the others have none.
        let stored = [KafkaTopicPartition(topic: topic, partition: 3): Int64(20)]
        let consumer = try KafkaTestSupport.consumer(cluster, group: KafkaTestSupport.unique("g"), topics: [topic]) {
            _, _ in stored
        }
        let assignment = Task {
            for await change in consumer.assignmentChanges {
                if case .assigned(let starts) = change { return starts }
            }
            return [:]
        }
        let collector = RecordCollector()
        let reader = consumer.drain(into: collector)
        #expect(await collector.waitFor(count: 7 * 25 + 5, timeout: KafkaTestSupport.arrivalDeadline))
        let starts = await assignment.value
        await consumer.close()
        try await reader.value

        var expectedStarts = Dictionary(
            uniqueKeysWithValues: (Int32(0)..<8).map { (KafkaTopicPartition(topic: topic, partition: $0), Int64(0)) })
        expectedStarts[KafkaTopicPartition(topic: topic, partition: 3)] = 20
        #expect(starts == expectedStarts)
        for partition in Int32(0)..<8 {
            let offsets = collector.all.filter { $0.partition == partition }.map(\.offset)
            #expect(offsets == Array((partition == 3 ? 20 : 0)..<25), "partition \(partition)")
        }
    }

    @Test(
        "an assignment hands over the id of the cluster that made it (stored positions are checked against it): the cluster's own, another cluster's differs"
    )
    func assignmentsNameTheirCluster() async throws {
        let topic = KafkaTestSupport.unique("cluster-id")
        let first = try KafkaTestSupport.cluster(topics: [topic: 1])
        defer { first.shutdown() }
        let second = try KafkaTestSupport.cluster(topics: [topic: 1])
        defer { second.shutdown() }
        var handed: [String] = []
        var reported: [String] = []
        for cluster in [first, second] {
            let seen = Mutex<String?>(nil)
            let consumer = try KafkaTestSupport.consumer(cluster, group: KafkaTestSupport.unique("g"), topics: [topic])
            {
                _, clusterID in
                seen.withLock { $0 = clusterID }
                return [:]
            }
            let deadline = ContinuousClock.now + KafkaTestSupport.arrivalDeadline
            while seen.withLock({ $0 }) == nil, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            await consumer.close()
            handed.append(try #require(seen.withLock { $0 }))
            let admin = try KafkaAdmin(
                configuration: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers),
                logger: KafkaTestSupport.logger)
            reported.append(try await admin.clusterID())
            await admin.close()
        }
        #expect(handed == reported)
        #expect(handed.allSatisfy { !$0.isEmpty })
        #expect(handed[0] != handed[1])
    }

    @Test("a tombstone (null value) arrives as a record with a nil value")
    func tombstonesAreRecords() async throws {
        let topic = KafkaTestSupport.unique("tombstone")
        let cluster = try KafkaTestSupport.cluster(topics: [topic: 1])
        defer { cluster.shutdown() }
        let producer = try KafkaTestSupport.producer(cluster)
        _ = try await producer.send(KafkaOutgoingRecord(topic: topic, key: Array("k".utf8), value: nil))
        await producer.close()
        let received = try await KafkaTestSupport.read(1, from: topic, on: cluster)
        #expect(received.count == 1)
        #expect(received.first?.value == nil)
        #expect(received.first?.key == Array("k".utf8))
    }

    @Test("High watermarks of many partitions in one query equal the per-partition answers")
    func highWatermarksInOneQuery() async throws {
        let topic = KafkaTestSupport.unique("watermarks")
        let cluster = try KafkaTestSupport.cluster(topics: [topic: 4])
        defer { cluster.shutdown() }
        let producer = try KafkaTestSupport.producer(cluster)
        // 0, 3, 5 and 7 records in partitions 0…3.
        let counts: [Int32: Int] = [0: 0, 1: 3, 2: 5, 3: 7]
        for (partition, count) in counts where count > 0 {
            _ = try await producer.send(
                (0..<count).map {
                    KafkaOutgoingRecord(topic: topic, partition: partition, key: nil, value: [UInt8($0)])
                })
        }
        let consumer = try KafkaTestSupport.consumer(cluster, group: KafkaTestSupport.unique("g"), topics: [topic])
        let all = try await consumer.highWatermarks(topic: topic, partitions: [0, 1, 2, 3])
        #expect(all == [0: 0, 1: 3, 2: 5, 3: 7])
        for partition in counts.keys {
            #expect(try await consumer.highWatermark(topic: topic, partition: partition) == all[partition])
        }
        await #expect(throws: KafkaError.self) { _ = try await consumer.highWatermarks(topic: topic, partitions: [9]) }
        // A client that never fetches gives the same answer (the consent gate asks one).
        let admin = try KafkaAdmin(
            configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: KafkaTestSupport.logger)
        #expect(try await admin.highWatermarks(topic: topic, partitions: [0, 1, 2, 3]) == all)
        await #expect(throws: KafkaError.self) { _ = try await admin.highWatermarks(topic: topic, partitions: [9]) }
        await admin.close()
        await producer.close()
        await consumer.close()
    }

    @Test("pause stops delivery from a partition until resume; high watermark is the next offset")
    func pauseResumeAndHighWatermark() async throws {
        let topic = KafkaTestSupport.unique("pause")
        let cluster = try KafkaTestSupport.cluster(topics: [topic: 1])
        defer { cluster.shutdown() }
        let producer = try KafkaTestSupport.producer(cluster)
        _ = try await producer.send(
            (0..<10).map { KafkaOutgoingRecord(topic: topic, key: nil, value: Array("\($0)".utf8)) })
        let consumer = try KafkaTestSupport.consumer(cluster, group: KafkaTestSupport.unique("g"), topics: [topic])
        #expect(try await consumer.highWatermark(topic: topic, partition: 0) == 10)
        let collector = RecordCollector()
        let reader = consumer.drain(into: collector)
        #expect(await collector.waitFor(count: 10, timeout: KafkaTestSupport.arrivalDeadline))
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        try consumer.pause([partition])
        _ = try await producer.send(
            (10..<20).map { KafkaOutgoingRecord(topic: topic, key: nil, value: Array("\($0)".utf8)) })
        try await Task.sleep(for: .milliseconds(500))
        #expect(collector.count == 10)
        try consumer.resume([partition])
        #expect(await collector.waitFor(count: 20, timeout: KafkaTestSupport.arrivalDeadline))
        #expect(try await consumer.highWatermark(topic: topic, partition: 0) == 20)
        #expect(try await consumer.highWatermarks(topic: topic, partitions: [0]) == [0: 20])
        await producer.close()
        await consumer.close()
        try await reader.value
    }
}
