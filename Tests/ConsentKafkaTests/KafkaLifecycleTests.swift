import ConsentKafka
import Foundation
import Testing

@Suite("Kafka client lifecycle")
struct KafkaLifecycleTests {
    @Test(
        "a consumer joins its group only when started: one made but not started takes no partitions, closes at once and cannot start after"
    )
    func consumerJoinsOnlyWhenStarted() async throws {
        let topic = KafkaTestSupport.unique("lifecycle")
        let cluster = try KafkaTestSupport.cluster(topics: [topic: 4])
        defer { cluster.shutdown() }
        let group = KafkaTestSupport.unique("g")
        let configuration = KafkaConsumerConfiguration(
            client: KafkaClientConfiguration(
                bootstrapServers: cluster.bootstrapServers, properties: KafkaTestSupport.consumerTuning),
            groupID: group, topics: [topic])
        // What the composition root does: make the consumer, run nothing yet.
        let made = try KafkaConsumer(configuration: configuration, logger: KafkaTestSupport.logger)
        // Reading it before it is started says so instead of waiting forever.
        var unstarted = made.batches.makeAsyncIterator()
        await #expect(throws: KafkaError(code: .consumerNotStarted, operation: "consume")) {
            _ = try await unstarted.next()
        }
        let started = try KafkaTestSupport.consumer(cluster, group: group, topics: [topic])
        for await change in started.assignmentChanges {
            if case .assigned = change { break }
        }
        // Had the made consumer joined (it was made first), the group would have split the four
        // partitions between the two.
        try await Task.sleep(for: .seconds(1))
        #expect(started.currentAssignment.count == 4)
        #expect(!made.hasJoinedGroup && made.currentAssignment.isEmpty)

        let closing = ContinuousClock.now
        await made.close()
        // Milliseconds alone; a bound, not a benchmark: under the fresh-clone CI run's parallel
        // suite it took 2.2 s once and 7.4 s once (that test took 45 s in all). What it guards
        // against is a close that waits out the group's session (45 s by default) or hangs; that
        // it never joined is asserted above.
        #expect(ContinuousClock.now - closing < .seconds(20), "nothing to leave: no group round trip")
        #expect(throws: KafkaError.self) { try made.start() }
        var batches = made.batches.makeAsyncIterator()
        #expect(try await batches.next() == nil, "its batches end")
        await started.close()
    }

    /// Each client's last call (librdkafka's blocking destroy) runs on a thread made for it. A
    /// bridge closes clients at every recovery read-back and at shutdown: a thread left behind
    /// per close adds up (a test run held 581 of them).
    @Test(
        "closing a client waits for its blocking query in flight, and a query after close fails CLIENT_CLOSED: the handle is never used once destroyed"
    )
    func closeWaitsForQueriesInFlight() async throws {
        let topic = KafkaTestSupport.unique("closing")
        let cluster = try KafkaTestSupport.cluster(topics: [topic: 2])
        let client = KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers)
        let admin = try KafkaAdmin(configuration: client, logger: KafkaTestSupport.logger)
        let consumer = try KafkaTestSupport.consumer(cluster, group: KafkaTestSupport.unique("g"), topics: [topic])
        _ = try await admin.highWatermarks(topic: topic, partitions: [0, 1])  // connected, metadata known
        _ = try await consumer.highWatermarks(topic: topic, partitions: [0, 1])
        // Every request now takes 700 ms: the queries below are in flight when the clients close
        // (as when a pipeline defect stopped every service while the consent gate asked for
        // watermarks: the destroy met the query inside librdkafka and the process crashed).
        cluster.setRoundTripTime(700)
        let inFlight = [
            Task { try await admin.highWatermarks(topic: topic, partitions: [0, 1], timeout: .seconds(5)) },
            Task { try await consumer.highWatermarks(topic: topic, partitions: [0, 1], timeout: .seconds(5)) },
        ]
        try await Task.sleep(for: .milliseconds(150))
        await admin.close()
        await consumer.close()
        for query in inFlight {
            // Answered (or failed) before the destroy; either way it returns.
            _ = await query.result
        }
        await #expect(throws: KafkaError(code: .clientClosed, operation: "query watermarks")) {
            _ = try await admin.highWatermarks(topic: topic, partitions: [0])
        }
        await #expect(throws: KafkaError(code: .clientClosed, operation: "query watermarks")) {
            _ = try await consumer.highWatermarks(topic: topic, partitions: [0])
        }
        await #expect(throws: KafkaError(code: .clientClosed, operation: "metadata")) {
            _ = try await admin.metadata()
        }
    }

    @Test("closing clients leaves no thread behind")
    func closedClientsLeaveNoThread() async throws {
        let topic = KafkaTestSupport.unique("closing")
        let cluster = try KafkaTestSupport.cluster(topics: [topic: 1])
        defer { cluster.shutdown() }
        for round in 0..<4 {
            let admin = try KafkaAdmin(
                configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: KafkaTestSupport.logger)
            _ = try await admin.highWatermarks(topic: topic, partitions: [0])
            await admin.close()
            let producer = try KafkaTestSupport.producer(cluster)
            _ = try await producer.send([KafkaOutgoingRecord(topic: topic, key: nil, value: [UInt8(round)])])
            await producer.close()
            let consumer = try KafkaTestSupport.consumer(cluster, group: KafkaTestSupport.unique("g"), topics: [topic])
            await consumer.close()
        }
        // Other tests close clients too: wait for a moment with none of these threads.
        func destroyThreads() -> Int {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
            return tasks.filter { task in
                let comm = FileManager.default.contents(atPath: "/proc/self/task/\(task)/comm") ?? Data()
                return String(decoding: comm, as: UTF8.self).trimmingCharacters(in: .newlines)
                    == KafkaThreadNames.destroy
            }.count
        }
        // (A leaked thread stays for ever; 10 s was once too short for the others' closes.)
        let deadline = ContinuousClock.now + .seconds(60)
        var remaining = destroyThreads()
        while remaining > 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            remaining = destroyThreads()
        }
        #expect(remaining == 0, "threads still named \(KafkaThreadNames.destroy)")
    }

    @Test("a consumer released with unread batches still buffered shuts down cleanly")
    func consumerReleasedWithBufferedBatches() async throws {
        let topic = KafkaTestSupport.unique("buffered")
        let cluster = try KafkaTestSupport.cluster(topics: [topic: 1])
        defer { cluster.shutdown() }
        let producer = try KafkaTestSupport.producer(cluster)
        let records = (0..<2_000).map { KafkaOutgoingRecord(topic: topic, key: nil, value: Array("r\($0)".utf8)) }
        for result in try await producer.send(records) { _ = try result.get() }
        await producer.close()

        var consumer: KafkaConsumer? = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                client: KafkaClientConfiguration(
                    bootstrapServers: cluster.bootstrapServers, properties: KafkaTestSupport.consumerTuning),
                groupID: KafkaTestSupport.unique("g"), topics: [topic], maxBatchSize: 10, maxBufferedBatches: 2
            ),
            logger: KafkaTestSupport.logger
        )
        try consumer!.start()
        var iterator = consumer!.batches.makeAsyncIterator()
        let first = try #require(try await iterator.next())
        #expect(first.first?.offset == 0)
        // Let the poll thread fill the channel, then stop reading: releasing the consumer with
        // batches buffered used to trap in libdispatch (a semaphore released below its start value).
        try await Task.sleep(for: .milliseconds(300))
        await consumer!.close()
        consumer = nil
        _ = iterator
    }

    @Test("a connected producer's first record to a new topic does not wait for librdkafka's 1 s topic scan")
    func firstRecordToNewTopicIsPrompt() async throws {
        // Naming a topic only in produceva left it unknown until the next 1 s topic scan
        // (0–1 s per topic, ~0.5 s typical); producing through rd_kafka_topic_new handles asks
        // at once. A round measures the first record to seven new topics, less a second record
        // to each, and takes the median.
        // The whole test suite starts many brokers at once, and on two busy cores a round can
        // be slow without the bug, so up to three rounds are tried: the fix passes on a round
        // with the machine free; the bug passes a round only ~13% of the time.
        var medians: [Duration] = []
        for round in 0..<3 {
            let median = try await Self.medianFirstRecordLatency(round: round)
            medians.append(median)
            if median < .milliseconds(300) { return }
        }
        Issue.record(
            "first records to new topics took \(medians) longer than second ones (median per round); the 1 s topic scan is back?"
        )
    }

    private static func medianFirstRecordLatency(round: Int) async throws -> Duration {
        let topics = (0..<8).map { KafkaTestSupport.unique("fresh-\(round)-\($0)") }
        let cluster = try KafkaTestSupport.cluster(topics: Dictionary(uniqueKeysWithValues: topics.map { ($0, 4) }))
        defer { cluster.shutdown() }
        let producer = try KafkaTestSupport.producer(cluster)
        // Connected, with a producer id: only the new topics' metadata is missing below.
        _ = try await producer.send(KafkaOutgoingRecord(topic: topics[0], key: nil, value: Array("warm-up".utf8)))
        // Each first record is compared with a second one to the same topic, sent right after
        // (its metadata known by then): the load of a busy test run slows both alike, the scan
        // delays the first only. (Absolute latencies failed two of three full test runs on a
        // slow day, at 0.3–2.4 s, with the fix in place.)
        var delays: [Duration] = []
        for topic in topics.dropFirst() {
            let started = ContinuousClock.now
            _ = try await producer.send(KafkaOutgoingRecord(topic: topic, key: Array("k".utf8), value: Array("v".utf8)))
            let first = ContinuousClock.now - started
            let again = ContinuousClock.now
            _ = try await producer.send(KafkaOutgoingRecord(topic: topic, key: Array("k".utf8), value: Array("w".utf8)))
            delays.append(first - (ContinuousClock.now - again))
        }
        await producer.close()
        return delays.sorted()[delays.count / 2]
    }
}
