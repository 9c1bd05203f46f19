import ConsentKafka
import Foundation
package import Logging

/// Produce and consume throughput of our client against a cluster (used by
/// `consent-bridge bench kafka`). Measures work, asserts nothing.
///
/// Each figure is the median of `rounds` runs: on two shared cores one run varies by ±40 %
/// (scheduling, heap growth, the in-process mock's own work), so a single run cannot tell a
/// 10 % difference. The peer (scripts/bench/peer_kafka.py) follows the same protocol.
package struct KafkaThroughputBenchmark: Sendable {
    package struct Result: Sendable {
        /// Median of `produceSamples`.
        package var produceMessagesPerSecond: Double
        /// Median of `consumeSamples`.
        package var consumeMessagesPerSecond: Double
        /// Every round's figure, in the order measured.
        package var produceSamples: [Double] = []
        package var consumeSamples: [Double] = []
    }

    package var bootstrapServers: String
    package var topic: String
    package var messages: Int
    package var size: Int
    package var consumerProperties: [String: String]
    package var logger: Logger
    /// Produce rounds, then consume rounds (at least 1 each).
    package var rounds: Int

    package init(
        bootstrapServers: String, topic: String, messages: Int, size: Int, consumerProperties: [String: String],
        logger: Logger,
        rounds: Int = 3
    ) {
        self.bootstrapServers = bootstrapServers
        self.topic = topic
        self.messages = messages
        self.size = size
        self.consumerProperties = consumerProperties
        self.logger = logger
        self.rounds = rounds
    }

    /// `rounds` times: a fresh producer produces `messages` records of `size` bytes
    /// (idempotent, acks=all), timed from the first send to the last delivery report. Then
    /// `rounds` times: a consumer in a fresh group reads `messages` records from the beginning,
    /// timed from the first record received to the last, so the group join is not counted (the
    /// peer is measured the same way).
    package func run() async throws -> Result {
        var produced: [Double] = []
        for _ in 0..<max(1, rounds) { produced.append(try await produceOnce()) }
        var consumed: [Double] = []
        for _ in 0..<max(1, rounds) { consumed.append(try await consumeOnce()) }
        return Result(
            produceMessagesPerSecond: median(produced), consumeMessagesPerSecond: median(consumed),
            produceSamples: produced, consumeSamples: consumed
        )
    }

    private func produceOnce() async throws -> Double {
        let producer = try KafkaProducer(
            configuration: KafkaClientConfiguration(bootstrapServers: bootstrapServers), logger: logger)
        let payload = [UInt8](repeating: UInt8(ascii: "x"), count: size)
        let chunk = 5_000
        let produceStart = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            var inFlight = 0
            for start in stride(from: 0, to: messages, by: chunk) {
                let records = (start..<min(start + chunk, messages)).map { index in
                    KafkaOutgoingRecord(topic: topic, key: Array("patient-\(index % 1024)".utf8), value: payload)
                }
                if inFlight == 8 {
                    try await group.next()
                    inFlight -= 1
                }
                group.addTask {
                    for result in try await producer.send(records) { _ = try result.get() }
                }
                inFlight += 1
            }
            try await group.waitForAll()
        }
        let produceSeconds = (ContinuousClock.now - produceStart).seconds
        await producer.close()
        return Double(messages) / produceSeconds
    }

    private func consumeOnce() async throws -> Double {
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                client: KafkaClientConfiguration(bootstrapServers: bootstrapServers, properties: consumerProperties),
                groupID: "bench-ours-\(UInt64.random(in: 0...UInt64.max))",
                topics: [topic]
            ),
            logger: logger
        )
        try consumer.start()
        var received = 0
        var first: ContinuousClock.Instant? = nil
        var last = ContinuousClock.now
        for try await batch in consumer.batches {
            if first == nil { first = ContinuousClock.now }
            received += batch.count
            if received >= messages {
                last = ContinuousClock.now
                break
            }
        }
        await consumer.close()
        guard received >= messages, let first else {
            throw KafkaError(
                code: .timedOut, operation: "benchmark consume", detail: "received \(received) of \(messages)")
        }
        return Double(messages - 1) / max((last - first).seconds, 1e-9)
    }
}

/// The median (the mean of the two middle values for an even count); 0 for no values.
private func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

extension Duration {
    /// The duration in seconds as a floating-point number.
    package var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

/// Produce→consume latency of single records (used by `consent-bridge bench kafka`): one
/// record every `interval`, each awaited on a consumer before the next is sent.
package struct KafkaLatencyBenchmark: Sendable {
    package struct Result: Sendable {
        /// Sorted samples in milliseconds.
        package var samples: [Double]
        /// The latency at `fraction` (0…1) of the samples, in milliseconds.
        package func percentile(_ fraction: Double) -> Double { LatencyStatistics(samples).percentile(fraction) }
    }

    package var bootstrapServers: String
    package var topic: String
    package var samples: Int
    package var interval: Duration
    package var consumerProperties: [String: String]
    package var logger: Logger

    package init(
        bootstrapServers: String, topic: String, samples: Int, interval: Duration, consumerProperties: [String: String],
        logger: Logger
    ) {
        self.bootstrapServers = bootstrapServers
        self.topic = topic
        self.samples = samples
        self.interval = interval
        self.consumerProperties = consumerProperties
        self.logger = logger
    }

    package func run() async throws -> Result {
        let producer = try KafkaProducer(
            configuration: KafkaClientConfiguration(bootstrapServers: bootstrapServers, properties: ["linger.ms": "0"]),
            logger: logger)
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                client: KafkaClientConfiguration(bootstrapServers: bootstrapServers, properties: consumerProperties),
                groupID: "bench-latency-\(UInt64.random(in: 0...UInt64.max))", topics: [topic]),
            logger: logger)
        try consumer.start()
        var iterator = consumer.batches.makeAsyncIterator()
        // Warm-up: the group join and the first fetch are not part of the measurement.
        _ = try await producer.send(
            KafkaOutgoingRecord(topic: topic, partition: 0, key: nil, value: Array("warm-up".utf8)))
        _ = try await iterator.next()
        var measured: [Double] = []
        for _ in 0..<samples {
            try await Task.sleep(for: interval)
            let start = ContinuousClock.now
            _ = try await producer.send(
                KafkaOutgoingRecord(topic: topic, partition: 0, key: nil, value: Array("sample".utf8)))
            guard try await iterator.next() != nil else { break }
            measured.append((ContinuousClock.now - start).seconds * 1000)
        }
        await consumer.close()
        await producer.close()
        return Result(samples: measured.sorted())
    }
}
