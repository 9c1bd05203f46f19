import ArgumentParser
import ConsentBenchmarks
import ConsentKafka
import Foundation
import Logging

/// `consent-bridge bench kafka`: our client's throughput next to an independent client's.
struct BenchKafkaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka",
        abstract:
            "Produce and consume throughput of our Kafka client and of Python confluent-kafka on the same embedded broker."
    )

    @Option(help: "Messages to produce and consume (per client).")
    var messages: Int = 100_000

    @Option(help: "Message value size in bytes.")
    var size: Int = 1024

    @Option(help: "Partitions of the benchmark topics.")
    var partitions: Int = 32

    @Option(help: "Python interpreter with confluent-kafka installed (the peer).")
    var python: String = "python3"

    @Option(help: "The peer script.")
    var peerScript: String = "scripts/bench/peer_kafka.py"

    @Option(help: "fetch.wait.max.ms of the consumers (the mock holds empty fetches this long; see docs/kafka.md).")
    var fetchWaitMs: Int = 10

    @Option(help: "Latency samples (one record every 30 ms, each awaited on a consumer).")
    var latencySamples: Int = 200

    @Flag(
        help: "Print the figures as one JSON line, alone on standard output (the readable lines go to standard error).")
    var json = false

    func validate() throws {
        guard messages >= 2 else { throw ValidationError("--messages must be at least 2") }
        guard (1...1_048_576).contains(size) else {
            throw ValidationError("--size must be between 1 and 1048576 bytes")
        }
    }

    func run() async throws {
        LoggingBootstrap.bootstrap(level: .warning)
        let logger = Logger(label: "consent-bridge.bench")
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: logger)
        defer { cluster.shutdown() }
        try cluster.createTopic("bench.ours", partitions: partitions)
        try cluster.createTopic("bench.peer", partitions: partitions)
        try cluster.createTopic("bench.latency", partitions: 1)
        let consumerProperties = ["fetch.wait.max.ms": "\(fetchWaitMs)"]

        let output = ReadableOutput(json: json)
        output.line(
            "Kafka benchmark: \(messages) messages × \(size) bytes, \(partitions) partitions, embedded broker \(cluster.bootstrapServers)"
        )
        let ours = try await KafkaThroughputBenchmark(
            bootstrapServers: cluster.bootstrapServers, topic: "bench.ours", messages: messages, size: size,
            consumerProperties: consumerProperties, logger: logger
        ).run()
        output.line(
            String(
                format: "  ours (ConsentKafka)      produce %10.0f msg/s   consume %10.0f msg/s",
                ours.produceMessagesPerSecond, ours.consumeMessagesPerSecond))

        let latency = try await KafkaLatencyBenchmark(
            bootstrapServers: cluster.bootstrapServers, topic: "bench.latency", samples: latencySamples,
            interval: .milliseconds(30),
            consumerProperties: consumerProperties, logger: logger
        ).run()
        output.line(
            String(
                format:
                    "  ours produce→consume latency (fetch.wait.max.ms=%d): p50 %.2f ms   p99 %.2f ms   max %.2f ms",
                fetchWaitMs, latency.percentile(0.5), latency.percentile(0.99), latency.percentile(1.0)))

        let peer = try runPeer(bootstrap: cluster.bootstrapServers)
        output.line(
            String(
                format: "  peer (confluent-kafka)   produce %10.0f msg/s   consume %10.0f msg/s", peer.produce,
                peer.consume))
        output.line(
            String(
                format: "  ratio ours/peer          produce %10.2f         consume %10.2f",
                ours.produceMessagesPerSecond / peer.produce, ours.consumeMessagesPerSecond / peer.consume))
        if json {
            let line: [String: Double] = [
                "produce_msgs_per_s": ours.produceMessagesPerSecond.rounded(),
                "consume_msgs_per_s": ours.consumeMessagesPerSecond.rounded(),
                "peer_produce_msgs_per_s": peer.produce.rounded(),
                "peer_consume_msgs_per_s": peer.consume.rounded(),
                "latency_p50_ms": (latency.percentile(0.5) * 100).rounded() / 100,
                "latency_p99_ms": (latency.percentile(0.99) * 100).rounded() / 100,
            ]
            let data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }

    private func runPeer(bootstrap: String) throws -> (produce: Double, consume: Double) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            python, peerScript, "--bootstrap", bootstrap, "--topic", "bench.peer", "--messages", "\(messages)",
            "--size", "\(size)",
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last,
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Double],
            let produce = object["produce_msgs_per_s"], let consume = object["consume_msgs_per_s"]
        else {
            throw ValidationError(
                "the peer client failed (is confluent-kafka installed for \(python)? pip install confluent-kafka)")
        }
        return (produce, consume)
    }
}
