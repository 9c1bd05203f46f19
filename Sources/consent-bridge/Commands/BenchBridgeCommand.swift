import ArgumentParser
import ConsentBenchmarks
import ConsentBridge
import ConsentConfiguration
import Foundation
import Logging

/// `consent-bridge bench bridge`: passthrough vs the full bridge, and withdrawal latency.
struct BenchBridgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bridge",
        abstract:
            "Events/s and end-to-end latency of (a) a plain consume→produce passthrough and (b) the full bridge with SQLite on the embedded broker; consent-withdrawal latency."
    )

    @Option(help: "Events per run.")
    var events: Int = 10_000

    @Option(
        help:
            "Offer events at this many per second, evenly paced, to measure latency below saturation (default: all at once, for throughput)."
    )
    var rate: Int?

    @Option(help: "Contracts directory.")
    var contracts: String = "Contracts"

    @Option(
        help:
            "Where the broker runs: `embedded` (the mock cluster in this process) or `process` (`consent-bridge broker` as a child process, so the bridge's own CPU and the network path are separate, as in production)."
    )
    var broker: BrokerPlacement = .embedded

    @Option(
        help:
            "The bridge store: `sqlite` (a file in a temporary folder) or `postgres` (a throwaway database on the server --postgres-url, CONSENT_BRIDGE_BENCH_POSTGRES_URL or CONSENT_BRIDGE_TEST_POSTGRES_URL names; scripts/with-postgres.sh starts one)."
    )
    var store: StoreEngine = .sqlite

    @Option(help: "PostgreSQL server for --store postgres (a role that may create databases).")
    var postgresURL: String?

    @Option(
        help:
            "Bridge instances in one consumer group sharing the bridge store (in this process; more than one needs --store postgres)."
    )
    var instances: Int = 1

    @Option(
        help:
            "`linger.ms` of the measured producers (both passthroughs' and the bridge's; default: the producers' own, 2). The passthroughs wait for each batch's deliveries, so their events/s follow it and the bridge's do not (docs/architecture.md)."
    )
    var lingerMs: Int?

    @Option(
        help:
            "The bridge's `pipeline.batch-linger-ms`: after a batch's first event, how long its pipelines wait for more (default: the setting's default, 25). Compare CPU per event and p99 below saturation with --rate."
    )
    var batchLingerMs: Int?

    @Option(
        help:
            "The bridge's `pipeline.batch-size`: at most this many events decided and recorded in one transaction (default: the setting's default, 500)."
    )
    var batchSize: Int?

    @Option(
        help:
            "Write the log as `run` does by default (info: a line per decision) in this format, `text` or `json`, to standard error (redirect it), so the figures include logging; default: errors only, as in earlier rounds."
    )
    var logFormat: LogSettings.Format?

    @Flag(
        help: "Print the figures as one JSON line, alone on standard output (the readable lines go to standard error).")
    var json = false

    enum BrokerPlacement: String, ExpressibleByArgument, CaseIterable {
        case embedded, process
    }

    enum StoreEngine: String, ExpressibleByArgument, CaseIterable {
        case sqlite, postgres
    }

    func validate() throws {
        guard events >= 10 else { throw ValidationError("--events must be at least 10") }
        if let rate, !(1...1_000_000).contains(rate) {
            throw ValidationError("--rate must be between 1 and 1000000 events/s")
        }
        guard (1...8).contains(instances) else { throw ValidationError("--instances must be between 1 and 8") }
        if let lingerMs, !(0...1000).contains(lingerMs) {
            throw ValidationError("--linger-ms must be between 0 and 1000")
        }
        if let batchLingerMs, !(0...1000).contains(batchLingerMs) {
            throw ValidationError("--batch-linger-ms must be between 0 and 1000")
        }
        if let batchSize, !(1...10_000).contains(batchSize) {
            throw ValidationError("--batch-size must be between 1 and 10000")
        }
        if instances > 1, store != .postgres {
            throw ValidationError(
                "--instances \(instances) shares one bridge store between the instances: add --store postgres")
        }
    }

    func run() async throws {
        LoggingBootstrap.bootstrap(benchmarkLogFormat: logFormat)
        let contracts = self.contracts
        var startBroker: (@Sendable () async throws -> BridgeBenchmark.ExternalBroker)? = nil
        if broker == .process {
            startBroker = { @Sendable in
                try await ChildBroker.start(contracts: contracts, partitions: BridgeBenchmark.partitionsPerTopic)
            }
        }
        var postgres: String? = nil
        if store == .postgres {
            let environment = ProcessInfo.processInfo.environment
            postgres =
                postgresURL ?? environment[ConfigurationLayers.benchPostgresURLVariable]
                ?? environment["CONSENT_BRIDGE_TEST_POSTGRES_URL"]
            guard postgres != nil else {
                throw ValidationError(
                    "--store postgres needs --postgres-url (or run it under scripts/with-postgres.sh)")
            }
        }
        let (events, rate) = (self.events, self.rate)
        let result = try await BridgeBenchmark(
            events: events, rate: rate, contractsDirectory: contracts, startBroker: startBroker,
            postgresBaseURL: postgres, instances: instances, producerLingerMilliseconds: lingerMs,
            batchLingerMilliseconds: batchLingerMs, batchSize: batchSize,
            // The load generator and reader in a process of their own: this process's CPU is then
            // the measured system's alone.
            runLoad: { bootstrap, onBegin, onEnd in
                try await ChildLoad.run(
                    bootstrap: bootstrap, events: events, rate: rate, contracts: contracts, onBegin: onBegin,
                    onEnd: onEnd)
            },
            logger: Logger(label: "bench")
        ).run()
        func percentile(_ values: [Double], _ fraction: Double) -> Double {
            LatencyStatistics(values).percentile(fraction)
        }
        let output = ReadableOutput(json: json)
        let offered = rate.map { "offered at \($0) events/s" } ?? "offered all at once"
        let placement = broker == .embedded ? "embedded broker" : "broker in a child process"
        let stored = store == .postgres ? "PostgreSQL" : "SQLite"
        let running = instances == 1 ? "" : ", \(instances) bridge instances in one group"
        let lingering =
            (lingerMs.map { ", producers' linger.ms \($0)" } ?? "")
            + (batchLingerMs.map { ", pipeline.batch-linger-ms \($0)" } ?? "")
            + (batchSize.map { ", pipeline.batch-size \($0)" } ?? "")
        let logging = logFormat.map { ", log at info in \($0.rawValue)" } ?? ""
        output.line(
            "Bridge benchmark: \(events) referral events (64 consented patients) \(offered), \(placement), \(stored)\(running)\(lingering)\(logging); allocator \(ProcessAllocator.name)"
        )
        output.line(
            String(
                format: "  (a) passthrough   %8.0f events/s   p50 %7.1f ms   p99 %7.1f ms", result.passthroughPerSecond,
                percentile(result.passthroughLatency, 0.5), percentile(result.passthroughLatency, 0.99)))
        output.line(
            String(
                format: "  (b) full bridge   %8.0f events/s   p50 %7.1f ms   p99 %7.1f ms", result.bridgePerSecond,
                percentile(result.bridgeLatency, 0.5), percentile(result.bridgeLatency, 0.99)))
        output.line(
            String(
                format: "  (a') passthrough with the bridge's Kafka work (3 records out per event)   %8.0f events/s",
                result.equalWorkPerSecond))
        output.line(
            String(
                format:
                    "  (a'') the same, the next batch enqueued while earlier ones are delivered (as the relay does)   %8.0f events/s",
                result.equalWorkPipelinedPerSecond))
        output.line(
            String(
                format: "  ratio b/a %.2f   b/a' (equal work) %.2f   b/a'' (equal work, pipelined) %.2f",
                result.bridgePerSecond / result.passthroughPerSecond,
                result.bridgePerSecond / result.equalWorkPerSecond,
                result.bridgePerSecond / result.equalWorkPipelinedPerSecond))
        let included = broker == .embedded ? "the broker included" : "the broker and the load in processes of their own"
        output.line(
            "  CPU per event of the measured process (all threads, \(included)): "
                + String(
                    format: "a' %.0f µs   b %.0f µs   (the load generator and reader: %.0f µs)",
                    result.equalWorkCPUMicrosecondsPerEvent, result.bridgeCPUMicrosecondsPerEvent,
                    result.loadCPUMicrosecondsPerEvent))
        if let store = result.bridgeStoreThreadCPUMicrosecondsPerEvent,
            let kafka = result.bridgeKafkaThreadsCPUMicrosecondsPerEvent
        {
            output.line(
                String(
                    format: "    of b: the store's thread %.0f µs   the Kafka clients' threads %.0f µs", store,
                    kafka))
        }
        if let steal = result.bridgeMachineStealShare {
            output.line(
                String(
                    format: "  the host's steal over the bridge's run: %.0f%% of the machine's CPU time", steal * 100))
        }
        if let written = result.bridgeWrittenBytesPerEvent {
            output.line(
                String(
                    format:
                        "  written by the bridge's process per event (store files and write(2) to sockets): %.1f KB",
                    written / 1024))
        }
        output.line(
            String(
                format: "  withdrawal acknowledged → in the bridge's view: p50 %.1f ms   p99 %.1f ms (%d samples)",
                percentile(result.withdrawalLatency, 0.5), percentile(result.withdrawalLatency, 0.99),
                result.withdrawalLatency.count))
        output.line("  full bridge, time per stage (stages overlap: pipelines, relay):")
        for (stage, totals) in result.bridgeStages.sorted(by: { $0.key < $1.key }) where totals.items > 0 {
            let name = stage.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
            output.line(
                "    " + name
                    + String(
                        format: "%7.2f s  %6d runs  %8d items  %7.1f µs/item", totals.seconds, totals.runs,
                        totals.items,
                        totals.seconds * 1e6 / Double(totals.items)))
        }
        if json {
            var line: [String: Any] = [
                "passthrough_per_s": result.passthroughPerSecond.rounded(),
                "bridge_per_s": result.bridgePerSecond.rounded(),
                "ratio": (result.bridgePerSecond / result.passthroughPerSecond * 100).rounded() / 100,
                "p99_ms": (percentile(result.bridgeLatency, 0.99) * 10).rounded() / 10,
                "withdrawal_p99_ms": (percentile(result.withdrawalLatency, 0.99) * 10).rounded() / 10,
            ]
            line["equal_work_per_s"] = result.equalWorkPerSecond.rounded()
            line["ratio_equal_work"] = (result.bridgePerSecond / result.equalWorkPerSecond * 100).rounded() / 100
            line["equal_work_pipelined_per_s"] = result.equalWorkPipelinedPerSecond.rounded()
            line["ratio_equal_work_pipelined"] =
                (result.bridgePerSecond / result.equalWorkPipelinedPerSecond * 100).rounded() / 100
            // The measured process runs the system alone (the load is a child process); with the
            // broker in it too (`--broker embedded`) the figures include the broker.
            line["equal_work_cpu_us_per_event"] = result.equalWorkCPUMicrosecondsPerEvent.rounded()
            line["bridge_cpu_us_per_event"] = result.bridgeCPUMicrosecondsPerEvent.rounded()
            line["load_cpu_us_per_event"] = result.loadCPUMicrosecondsPerEvent.rounded()
            if let store = result.bridgeStoreThreadCPUMicrosecondsPerEvent {
                line["bridge_store_thread_cpu_us_per_event"] = store.rounded()
            }
            if let kafka = result.bridgeKafkaThreadsCPUMicrosecondsPerEvent {
                line["bridge_kafka_threads_cpu_us_per_event"] = kafka.rounded()
            }
            if let written = result.bridgeWrittenBytesPerEvent {
                line["bridge_written_kb_per_event"] = (written / 1024 * 10).rounded() / 10
            }
            if let steal = result.bridgeMachineStealShare {
                line["bridge_machine_steal_pct"] = (steal * 1000).rounded() / 10
            }
            line["withdrawal_p50_ms"] = (percentile(result.withdrawalLatency, 0.5) * 10).rounded() / 10
            line["broker_in_process"] = broker == .embedded ? 1 : 0
            line["store_postgres"] = store == .postgres ? 1 : 0
            line["instances"] = Double(instances)
            if let rate { line["offered_per_s"] = Double(rate) }
            if let lingerMs { line["linger_ms"] = Double(lingerMs) }
            if let batchLingerMs { line["batch_linger_ms"] = Double(batchLingerMs) }
            if let batchSize { line["batch_size"] = Double(batchSize) }
            // The CPU figures depend on them: the allocator (ProcessAllocator) and whether a line
            // per decision was written (`none`: filtered, as in every round before the option).
            line["allocator"] = ProcessAllocator.name
            line["log_format"] = logFormat?.rawValue ?? "none"
            print(
                String(
                    decoding: try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]), as: UTF8.self))
        }
    }
}
