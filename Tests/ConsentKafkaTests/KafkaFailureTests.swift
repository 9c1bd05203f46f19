import ConsentKafka
import Foundation
import Testing

@Suite("Kafka failures surface as typed errors")
struct KafkaFailureTests {
    @Test("an unreachable broker gives a clear, retriable error within a bounded time")
    func unreachableBrokerFailsInBoundedTime() async throws {
        // Port 1 on loopback: nothing listens there.
        let configuration = KafkaClientConfiguration(
            bootstrapServers: "127.0.0.1:1", properties: ["message.timeout.ms": "1500"])
        let producer = try KafkaProducer(configuration: configuration, logger: KafkaTestSupport.logger)
        let started = ContinuousClock.now
        let error = await #expect(throws: KafkaError.self) {
            _ = try await producer.send(KafkaOutgoingRecord(topic: "health.consent", key: nil, value: Array("{}".utf8)))
        }
        // Bounded, not fast: the point is that the send ends with an error instead of retrying
        // forever. A 1.5 s timeout took 11.5 s once under the full suite on two cores (CI), and
        // 31.9 s with a benchmark running beside the suite (4.1 s alone), so the bound leaves
        // room for a starved scheduler.
        #expect(ContinuousClock.now - started < .seconds(60))
        #expect(error?.code == .messageTimedOut)
        #expect(error?.isRetriable == true)
        #expect(error?.isFatal == false)
        await producer.close(timeout: .seconds(1))

        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                client: configuration, groupID: "unreachable", topics: ["health.consent"]),
            logger: KafkaTestSupport.logger
        )
        try consumer.start()
        let queryStarted = ContinuousClock.now
        await #expect(throws: KafkaError.self) {
            _ = try await consumer.highWatermark(topic: "health.consent", partition: 0, timeout: .seconds(2))
        }
        #expect(ContinuousClock.now - queryStarted < .seconds(30))
        await consumer.close()
    }

    @Test(
        "closing without a flush while the broker is unreachable returns at once: queued records, and an enqueue waiting for queue space, fail instead of waiting for the message timeout"
    )
    func closeWithUndeliverableRecordsIsBounded() async throws {
        // Nothing listens on port 1; records would wait `message.timeout.ms` (30 s) for a report.
        let producer = try KafkaProducer(
            configuration: KafkaClientConfiguration(
                bootstrapServers: "127.0.0.1:1",
                properties: ["message.timeout.ms": "30000", "queue.buffering.max.messages": "5"]),
            logger: KafkaTestSupport.logger)
        let records = (0..<20).map {
            KafkaOutgoingRecord(topic: "health.consent", key: nil, value: Array("record-\($0)".utf8))
        }
        let queued = try await producer.enqueue(Array(records.prefix(5)))
        // The queue is full: this enqueue waits for space that only the message timeout would free.
        let waiting = Task { try await producer.enqueue(Array(records.dropFirst(5))).results() }
        try await Task.sleep(for: .milliseconds(300))
        let started = ContinuousClock.now
        await producer.close(timeout: .zero)
        let waited = try await waiting.value
        let reported = await queued.results()
        // Bounded, not fast (see `unreachableBrokerFailsInBoundedTime`). While the waiting
        // enqueue kept waiting on a closing producer, this took 90 s (the message timeout,
        // once per five records that freed queue space). Alone it takes ~0.1 s; once, under the
        // fresh-clone CI run's full parallel suite, 30.4 s (not explained yet: about one
        // message timeout; the closing note says so). The bound still tells 90 s from bounded.
        #expect(ContinuousClock.now - started < .seconds(60))
        #expect(reported.count == 5 && waited.count == 15)
        #expect((reported + waited).allSatisfy { if case .failure = $0 { true } else { false } })
        #expect(
            waited.contains {
                if case .failure(let error) = $0 { error.code == .clientClosed } else { false }
            }, "the waiting enqueue gave up when the producer closed")
    }

    @Test("an unknown configuration key fails at start-up, naming the key")
    func unknownConfigurationKeyIsRejected() throws {
        let configuration = KafkaClientConfiguration(
            bootstrapServers: "127.0.0.1:9092", properties: ["group.protocol": "consumer"])
        let error = #expect(throws: KafkaError.self) {
            _ = try KafkaProducer(configuration: configuration, logger: KafkaTestSupport.logger)
        }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.description.contains("group.protocol") == true)
    }

    @Test("a secret configuration value never appears in a configuration error")
    func secretValuesStayOutOfErrors() throws {
        let secret = "hunter2-\(UUID().uuidString)"
        let configuration = KafkaClientConfiguration(
            bootstrapServers: "127.0.0.1:9092",
            properties: ["sasl.password": secret, "ssl.key.password": secret, "security.protocol": "bogus"]
        )
        let error = #expect(throws: KafkaError.self) {
            _ = try KafkaProducer(configuration: configuration, logger: KafkaTestSupport.logger)
        }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.description.contains("security.protocol") == true)
        #expect(error?.description.contains(secret) == false)
    }

    @Test("produce succeeds after injected retriable broker errors, and stores the record once")
    func produceRetriesInjectedErrors() async throws {
        let topic = KafkaTestSupport.unique("retry")
        let cluster = try KafkaTestSupport.cluster(topics: [topic: 1])
        defer { cluster.shutdown() }
        let producer = try KafkaTestSupport.producer(cluster)
        // Warm up so the producer id is acquired, then make the next produce requests fail.
        _ = try await producer.send(KafkaOutgoingRecord(topic: topic, key: nil, value: Array("warm-up".utf8)))
        cluster.pushRequestErrors(.produce, [.notLeaderForPartition, .notEnoughReplicas, .requestTimedOut])
        let report = try await producer.send(
            KafkaOutgoingRecord(topic: topic, key: nil, value: Array("after-errors".utf8)))
        #expect(report.offset == 1)
        await producer.close()

        let consumer = try KafkaTestSupport.consumer(cluster, group: KafkaTestSupport.unique("g"), topics: [topic])
        let collector = RecordCollector()
        let reader = consumer.drain(into: collector)
        #expect(await collector.waitFor(count: 2, timeout: KafkaTestSupport.arrivalDeadline))
        try await Task.sleep(for: .milliseconds(300))
        await consumer.close()
        try await reader.value
        #expect(collector.all.map { String(decoding: $0.value ?? [], as: UTF8.self) } == ["warm-up", "after-errors"])
    }

    @Test("a fatal producer error surfaces as fatal and later sends fail fast")
    func fatalErrorSurfacesAsFatal() async throws {
        let topic = KafkaTestSupport.unique("fatal")
        let cluster = try KafkaTestSupport.cluster(topics: [topic: 1])
        defer { cluster.shutdown() }
        let producer = try KafkaTestSupport.producer(cluster, properties: ["message.timeout.ms": "5000"])
        _ = try await producer.send(KafkaOutgoingRecord(topic: topic, key: nil, value: Array("ok".utf8)))
        // An out-of-order sequence the idempotent producer cannot recover from without
        // reordering is fatal for a non-transactional idempotent producer.
        cluster.pushRequestErrors(.produce, [.outOfOrderSequenceNumber])
        let first = await #expect(throws: KafkaError.self) {
            _ = try await producer.send(KafkaOutgoingRecord(topic: topic, key: nil, value: Array("broken".utf8)))
        }
        #expect(first?.isFatal == true)
        let next = await #expect(throws: KafkaError.self) {
            _ = try await producer.send(KafkaOutgoingRecord(topic: topic, key: nil, value: Array("after".utf8)))
        }
        #expect(next?.isFatal == true)
        await producer.close(timeout: .seconds(2))
    }

    @Test(
        "High watermarks come back once a leaderless partition has a leader again: the client's stale metadata is refreshed instead of failing with an unknown partition until its next periodic refresh"
    )
    func watermarksRecoverAfterALeaderlessPartition() async throws {
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: KafkaTestSupport.logger)
        defer { cluster.shutdown() }
        try cluster.createTopic("health.consent", partitions: 1)
        let client = KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers)
        let producer = try KafkaProducer(configuration: client, logger: KafkaTestSupport.logger)
        _ = try await producer.send(KafkaOutgoingRecord(topic: "health.consent", key: nil, value: Array("{}".utf8)))
        await producer.close()
        // The client first meets the partition without a leader (a bridge starting while the
        // consent topic's leader is away).
        cluster.setPartitionLeader(topic: "health.consent", partition: 0, broker: -1)
        let admin = try KafkaAdmin(configuration: client, logger: KafkaTestSupport.logger)
        await #expect(throws: KafkaError.self) {
            _ = try await admin.highWatermarks(topic: "health.consent", partitions: [0], timeout: .seconds(2))
        }
        cluster.setPartitionLeader(topic: "health.consent", partition: 0, broker: 1)
        // Before the refresh, every query failed for more than a minute after this (the consent
        // gate, and with it every decision and the relay, held all that time).
        var answer: [Int32: Int64]?
        let deadline = ContinuousClock.now + .seconds(20)
        while answer == nil, ContinuousClock.now < deadline {
            answer = try? await admin.highWatermarks(topic: "health.consent", partitions: [0], timeout: .seconds(2))
            if answer == nil { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(answer == [0: 1], "no answer within 20 s of the leader's return")
        await admin.close()
    }
}
