package import ConsentBridge
import ConsentBridgeTesting
import ConsentConfiguration
import ConsentContracts
import ConsentKafka
import ConsentPolicy
import ConsentStorage
import Foundation
package import Logging
import ServiceLifecycle
import Synchronization

/// `consent-bridge bench bridge`: (a) a plain consume→produce passthrough with our client and
/// (b) the full bridge with SQLite, on the embedded broker or one in another process, plus how
/// long a consent withdrawal takes from its acknowledgement to being in the view the bridge
/// decides with.
/// Measures and prints; asserts nothing.
package struct BridgeBenchmark: Sendable {
    package struct Result: Sendable {
        package var passthroughPerSecond: Double
        package var passthroughLatency: [Double]
        /// The passthrough doing the bridge's Kafka work: per event one record consumed and
        /// three produced (the copy, a receipt and a disclosure notice of the bridge's sizes).
        package var equalWorkPerSecond: Double
        /// CPU time of the measuring process (all threads, getrusage) per event, over each
        /// measured run: the system under test's, plus the load generator and reader when they
        /// run in this process (`runLoad`), plus the broker when it does (`--broker process`
        /// keeps it out).
        package var equalWorkCPUMicrosecondsPerEvent: Double
        /// The equal-work passthrough enqueueing the next batch while the previous ones'
        /// deliveries are awaited (as many in flight as the relay keeps), as the bridge's relay
        /// does; the plain passthroughs wait for each batch's deliveries before taking the next,
        /// so their events/s follow the producers' `linger.ms`.
        package var equalWorkPipelinedPerSecond: Double
        package var bridgeCPUMicrosecondsPerEvent: Double
        /// Bytes the measuring process wrote per event over the bridge's run (`ProcessIO`): with
        /// SQLite, what the store cost in writes (WAL and checkpoints); nil where not reported.
        package var bridgeWrittenBytesPerEvent: Double?
        /// Of `bridgeCPUMicrosecondsPerEvent`: the store's thread (every transaction runs there;
        /// with PostgreSQL only the client's side, the server's work is its own) and the Kafka clients' threads
        /// (librdkafka's own, the consumers' polling and the producers' delivery reports). The
        /// rest is the pipelines and the relay on Swift's pool. From `/proc/self/task` (10 ms
        /// ticks); nil where that is absent.
        package var bridgeStoreThreadCPUMicrosecondsPerEvent: Double?
        package var bridgeKafkaThreadsCPUMicrosecondsPerEvent: Double?
        /// CPU of the process the load ran in, per event, over the bridge's run (the load's own
        /// share when it runs in a process of its own).
        package var loadCPUMicrosecondsPerEvent: Double
        /// The share of the machine's CPU time its host gave to other virtual machines over the
        /// bridge's run (`/proc/stat` steal; nil where not reported). This machine's figures
        /// drift 2× between hours; steal says how much of that is the host.
        package var bridgeMachineStealShare: Double?
        package var bridgePerSecond: Double
        package var bridgeLatency: [Double]
        package var withdrawalLatency: [Double]
        /// Where the full bridge's time went (summed over the run, all stages overlap).
        package var bridgeStages: [BridgeMetrics.Stage: BridgeMetrics.StageTotals]
    }

    /// A broker in another process, started afresh for each measured system.
    package struct ExternalBroker: Sendable {
        /// Its bootstrap address.
        package var bootstrapServers: String
        /// Stops it (and waits for it to end).
        package var stop: @Sendable () async -> Void

        /// Creates the handle of a running broker.
        package init(bootstrapServers: String, stop: @escaping @Sendable () async -> Void) {
            self.bootstrapServers = bootstrapServers
            self.stop = stop
        }
    }

    package var events: Int
    /// Offered load in events/s, paced evenly; `nil` offers all events at once (throughput).
    package var rate: Int?
    package var contractsDirectory: String
    /// Starts a broker in another process; `nil` runs the mock cluster in this process.
    package var startBroker: (@Sendable () async throws -> ExternalBroker)?
    /// A PostgreSQL server (a role that may create databases) for the bridge store; SQLite when nil.
    package var postgresBaseURL: String?
    /// Bridge instances in one consumer group, sharing the bridge store (more than one needs
    /// PostgreSQL).
    package var instances: Int
    package var logger: Logger
    /// `linger.ms` of the measured systems' producers (the passthroughs' and the bridge's);
    /// nil: the producers' default (2 ms). The load generator's producer keeps its own.
    package var producerLingerMilliseconds: Int?
    /// The bridge's `pipeline.batch-linger-ms` (its default when nil).
    package var batchLingerMilliseconds: Int?
    /// The bridge's `pipeline.batch-size` (its default when nil).
    package var batchSize: Int?
    /// Runs one measured run's load against the broker at the given bootstrap address, calling
    /// `onBegin` when the timed part begins and `onEnd` when it ends (before the load's result is
    /// handed over: reading a child's result is not the system's work). `nil`: in this process
    /// (`BridgeBenchmarkLoad`).
    package var runLoad: RunLoad

    /// How a run's load is run (see `runLoad`).
    package typealias RunLoad =
        @Sendable (
            _ bootstrapServers: String, _ onBegin: @escaping @Sendable () -> Void,
            _ onEnd: @escaping @Sendable () -> Void
        ) async throws -> BridgeBenchmarkLoadResult

    package init(
        events: Int, rate: Int? = nil, contractsDirectory: String,
        startBroker: (@Sendable () async throws -> ExternalBroker)? = nil,
        postgresBaseURL: String? = nil,
        instances: Int = 1,
        producerLingerMilliseconds: Int? = nil,
        batchLingerMilliseconds: Int? = nil,
        batchSize: Int? = nil,
        runLoad: RunLoad? = nil,
        logger: Logger
    ) throws {
        guard instances == 1 || postgresBaseURL != nil else { throw BenchmarkError.instancesNeedPostgres }
        self.producerLingerMilliseconds = producerLingerMilliseconds
        self.batchLingerMilliseconds = batchLingerMilliseconds
        self.batchSize = batchSize
        self.instances = instances
        self.events = events
        self.rate = rate
        self.contractsDirectory = contractsDirectory
        self.startBroker = startBroker
        self.postgresBaseURL = postgresBaseURL
        self.logger = logger
        let workload = try BridgeBenchmarkWorkload(contractsDirectory: contractsDirectory)
        self.runLoad =
            runLoad ?? { bootstrap, onBegin, onEnd in
                let result = try await BridgeBenchmarkLoad(
                    bootstrapServers: bootstrap, events: events, rate: rate, workload: workload, logger: logger
                ).run(onBegin: onBegin)
                onEnd()
                return result
            }
    }

    /// Partitions per topic: the mock keeps at most ~5 MiB per partition and silently drops
    /// older records (docs/kafka.md); the events' keys spread them over 24 partitions, ~1 MiB each.
    package static let partitionsPerTopic = 24

    static let tuning = EmbeddedKafkaCluster.consumerTuning

    /// The producer settings of the measured systems (`producerLingerMilliseconds`).
    private var producerProperties: [String: String] {
        producerLingerMilliseconds.map { ["linger.ms": String($0)] } ?? [:]
    }

    package func run() async throws -> Result {
        let workload = try BridgeBenchmarkWorkload(contractsDirectory: contractsDirectory)
        let examples = URL(fileURLWithPath: contractsDirectory).appendingPathComponent("examples")
        let patient = workload.patients[0]
        // Later versions of patient 0's consent keep its consent id.
        let patientConsentID = UUID.random().lowercaseString
        let seeds = try workload.patients.map { subject in
            (
                subject,
                try workload.consent(
                    for: subject, consentID: subject == patient ? patientConsentID : UUID.random().lowercaseString,
                    version: 1, status: "granted")
            )
        }
        func consent(version: Int, status: String) throws -> [UInt8] {
            try workload.consent(for: patient, consentID: patientConsentID, version: version, status: status)
        }

        // (a) Passthrough: consume health.ips.outbound, produce each batch to nav.followup.inbound;
        // (a') the same with the bridge's Kafka work: a receipt and a disclosure notice beside
        // each copy, of the sizes of the published examples, to the topics the bridge uses.
        let receiptBody = Array(
            try Data(contentsOf: examples.appendingPathComponent("receipt/valid/job-status-accepted.json")))
        let noticeBody = Array(
            try Data(
                contentsOf: examples.appendingPathComponent(
                    "disclosure/valid/referral-disclosed-to-job-specialist.json")))
        func passthroughSystem(equalWork: Bool, pipelined: Bool = false) -> (BenchmarkBroker, StopSignal) async throws
            -> Task<[Double], any Error>
        {
            { cluster, stop in
                let client = KafkaClientConfiguration(
                    bootstrapServers: cluster.bootstrapServers, properties: Self.tuning)
                let consumer = try KafkaConsumer(
                    configuration: .init(
                        client: client,
                        groupID: pipelined ? "passthrough-pipelined" : equalWork ? "passthrough-equal" : "passthrough",
                        topics: ["health.ips.outbound"]), logger: logger)
                try consumer.start()
                let producer = try KafkaProducer(
                    configuration: .init(bootstrapServers: cluster.bootstrapServers, properties: producerProperties),
                    logger: logger)
                return Task {
                    let forward = Task {
                        var inFlight: [KafkaPendingDelivery] = []
                        for try await batch in consumer.batches {
                            var out = batch.map {
                                KafkaOutgoingRecord(
                                    topic: "nav.followup.inbound", key: $0.key, value: $0.value, headers: $0.headers)
                            }
                            if equalWork {
                                for record in batch {
                                    out.append(
                                        KafkaOutgoingRecord(
                                            topic: "health.ips.receipts", key: record.key, value: receiptBody,
                                            headers: record.headers))
                                    out.append(
                                        KafkaOutgoingRecord(
                                            topic: "health.disclosures", key: record.key, value: noticeBody,
                                            headers: record.headers))
                                }
                            }
                            guard pipelined else {
                                for result in try await producer.send(out) { _ = try result.get() }
                                continue
                            }
                            inFlight.append(try await producer.enqueue(out))
                            if inFlight.count > OutboxRelay.maxInFlight {
                                for result in await inFlight.removeFirst().results() { _ = try result.get() }
                            }
                        }
                        for pending in inFlight {
                            for result in await pending.results() { _ = try result.get() }
                        }
                    }
                    while !stop.isSet { try await Task.sleep(for: .milliseconds(20)) }
                    await consumer.close()
                    try await forward.value
                    await producer.close()
                    return [Double]()
                }
            }
        }
        let passthrough = try await measure(start: passthroughSystem(equalWork: false))
        let equalWork = try await measure(start: passthroughSystem(equalWork: true))
        let equalWorkPipelined = try await measure(start: passthroughSystem(equalWork: true, pipelined: true))

        // (b) The full bridge with SQLite, and (c) withdrawal latency on the same set-up.
        let stages = StageSnapshot()
        let bridge = try await measure(seedConsents: seeds) { cluster, stop in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "bench-bridge-\(UUID().uuidString)"
            ).path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            // Against a broker in another process the bridge runs as an operator would configure
            // it for that broker (the mock holds empty fetches, so a short fetch wait), without
            // the in-process tuning: the consent consumer's own cap is what is measured.
            let isExternal = startBroker != nil
            // The bridge store: a SQLite file, or a throwaway database on the PostgreSQL server
            // `postgresBaseURL` names (the production store), dropped after the run.
            var storeLocation = directory + "/bridge.sqlite"
            if let postgresBaseURL {
                storeLocation = try await PostgresScratchDatabase.create(
                    baseURL: postgresBaseURL, prefix: "bench_bridge", logger: logger)
            }
            let scratchDatabase = postgresBaseURL.map { (base: $0, url: storeLocation) }
            var environment = [
                "CONSENT_BRIDGE_ROLES": "bridge", "CONSENT_BRIDGE_EMBEDDED": "true",
                "CONSENT_BRIDGE_DATA_DIRECTORY": directory,
                "CONSENT_BRIDGE_CONTRACTS_DIRECTORY": contractsDirectory,
                "CONSENT_BRIDGE_BRIDGE_STORE": storeLocation,
                "CONSENT_BRIDGE_KAFKA_FETCH_WAIT_MAX_MS": isExternal ? "50" : "500",
                // Several instances: a member the group stops hearing from is expelled after
                // 6 s (as the two-instance crash test sets it; docs/operations.md, failover), not
                // librdkafka's default 45 s, which once held a member's partitions idle that long.
                "CONSENT_BRIDGE_KAFKA_SESSION_TIMEOUT_MS": instances > 1 ? "6000" : "45000",
            ]
            if let batchLingerMilliseconds {
                environment["CONSENT_BRIDGE_PIPELINE_BATCH_LINGER_MS"] = String(batchLingerMilliseconds)
            }
            if let batchSize { environment["CONSENT_BRIDGE_PIPELINE_BATCH_SIZE"] = String(batchSize) }
            let configuration = try BridgeConfiguration.load(
                arguments: [], environment: environment, fileContents: nil)
            // The clients' settings serve the bridge's consumers too; librdkafka leaves a
            // producer setting to producers.
            let client = KafkaClientConfiguration(
                bootstrapServers: cluster.bootstrapServers, properties: producerProperties)
            // One or more instances in one consumer group, sharing the bridge store (as
            // `docker compose up --scale bridge=N` runs them; here in one process).
            var applications: [BridgeApplication] = []
            for _ in 0..<instances {
                applications.append(
                    try await BridgeApplication.make(
                        configuration: configuration, kafka: .init(health: client, nav: client),
                        consumerTuning: isExternal ? [:] : Self.tuning,
                        logger: logger))
            }
            let application = applications[0]
            let group = ServiceGroup(
                configuration: .init(
                    services: applications.flatMap(\.services).map { .init(service: $0) }, logger: logger))
            // Alternating withdrawals and re-grants (version 2, 3, …), bodies prepared up front.
            let changes = try (2..<42).map { version in
                let status = version % 2 == 0 ? "withdrawn" : "granted"
                return (status, try consent(version: version, status: status))
            }
            let logger = self.logger
            return Task {
                var withdrawal: [Double] = []
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask { try await group.run() }
                    while !stop.isSet { try await Task.sleep(for: .milliseconds(20)) }
                    // Withdrawal latency: append a withdrawal, time until the view has it.
                    if let view = application.consentView {
                        let producer = try KafkaProducer(
                            configuration: .init(
                                bootstrapServers: cluster.bootstrapServers, properties: ["linger.ms": "0"]),
                            logger: logger)
                        // Warm-up: connection, metadata and producer id are not part of the latency.
                        _ = try await producer.send(KafkaOutgoingRecord(topic: "health.consent", key: nil, value: nil))
                        for (status, body) in changes {
                            // From the broker's acknowledgement: the withdrawal is then the
                            // patient's, and the bridge must apply it.
                            _ = try await producer.send(BridgeBenchmarkWorkload.consentRecord(patient, body))
                            let start = ContinuousClock.now
                            let deadline = ContinuousClock.now + .seconds(30)
                            while true {
                                guard ContinuousClock.now < deadline else { throw BenchmarkError.withdrawalNotSeen }
                                let state = view.state(for: patient)
                                if status == "withdrawn", case .withdrawn = state { break }
                                if status == "granted", case .granted = state { break }
                                try await Task.sleep(for: .microseconds(200))
                            }
                            if status == "withdrawn" { withdrawal.append((ContinuousClock.now - start).seconds * 1000) }
                            try await Task.sleep(for: .milliseconds(30))
                        }
                        await producer.close()
                    }
                    await group.triggerGracefulShutdown()
                    try await tasks.waitForAll()
                }
                stages.store(
                    applications.map(\.metrics.stages).reduce(into: [:]) { total, stages in
                        for (stage, totals) in stages {
                            total[stage, default: .init()].runs += totals.runs
                            total[stage, default: .init()].items += totals.items
                            total[stage, default: .init()].seconds += totals.seconds
                        }
                    })
                for application in applications { await application.shutdown() }
                try? FileManager.default.removeItem(atPath: directory)
                if let scratchDatabase {
                    await PostgresScratchDatabase.drop(
                        url: scratchDatabase.url, baseURL: scratchDatabase.base, logger: logger)
                }
                return withdrawal
            }
        }
        return Result(
            passthroughPerSecond: passthrough.load.perSecond, passthroughLatency: passthrough.load.latency,
            equalWorkPerSecond: equalWork.load.perSecond,
            equalWorkCPUMicrosecondsPerEvent: equalWork.cpuSeconds * 1e6 / Double(events),
            equalWorkPipelinedPerSecond: equalWorkPipelined.load.perSecond,
            bridgeCPUMicrosecondsPerEvent: bridge.cpuSeconds * 1e6 / Double(events),
            bridgeWrittenBytesPerEvent: bridge.writtenBytes.map { $0 / Double(events) },
            bridgeStoreThreadCPUMicrosecondsPerEvent: bridge.threadSeconds.map {
                $0.store * 1e6 / Double(events)
            },
            bridgeKafkaThreadsCPUMicrosecondsPerEvent: bridge.threadSeconds.map {
                $0.kafka * 1e6 / Double(events)
            },
            loadCPUMicrosecondsPerEvent: bridge.load.cpuSeconds * 1e6 / Double(events),
            bridgeMachineStealShare: bridge.machineStealShare,
            bridgePerSecond: bridge.load.perSecond, bridgeLatency: bridge.load.latency,
            withdrawalLatency: bridge.extra.sorted(),
            bridgeStages: stages.load())
    }

    /// Starts a cluster and the system under test, then runs the load (`runLoad`) against it:
    /// `events` records into `health.ips.outbound`, timed until they arrive on
    /// `nav.followup.inbound`. The CPU counted is this process's over the load's run.
    private func measure(
        seedConsents: [(String, [UInt8])] = [],
        start: (BenchmarkBroker, StopSignal) async throws -> Task<[Double], any Error>
    ) async throws -> Measurement {
        let cluster: BenchmarkBroker
        var embedded: EmbeddedKafkaCluster? = nil
        if let startBroker {
            let external = try await startBroker()
            cluster = BenchmarkBroker(bootstrapServers: external.bootstrapServers, stop: external.stop)
        } else {
            let local = try EmbeddedKafkaCluster(brokers: 1, logger: logger)
            for topic in TopicNames.defaults.all {
                try local.createTopic(topic, partitions: Self.partitionsPerTopic)
            }
            embedded = local
            cluster = BenchmarkBroker(bootstrapServers: local.bootstrapServers, stop: {})
        }
        defer { embedded?.shutdown() }
        do {
            let result = try await measure(on: cluster, seedConsents: seedConsents, start: start)
            await cluster.stop()
            return result
        } catch {
            await cluster.stop()
            throw error
        }
    }

    /// One measured run: the load's figures, this process's CPU over it, and what the system
    /// returned (the bridge: withdrawal latencies).
    private struct Measurement {
        var load: BridgeBenchmarkLoadResult
        var cpuSeconds: Double
        /// Bytes this process wrote over the run (`ProcessIO`), if reported.
        var writtenBytes: Double?
        /// CPU seconds of the store's thread and of the Kafka clients' threads over the run.
        var threadSeconds: (store: Double, kafka: Double)?
        /// The host's steal over the run (`MachineCPU`), if reported.
        var machineStealShare: Double?
        var extra: [Double]
    }

    private func measure(
        on cluster: BenchmarkBroker, seedConsents: [(String, [UInt8])],
        start: (BenchmarkBroker, StopSignal) async throws -> Task<[Double], any Error>
    ) async throws -> Measurement {
        if !seedConsents.isEmpty {
            let producer = try KafkaProducer(
                configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger)
            for result in try await producer.send(
                seedConsents.map { BridgeBenchmarkWorkload.consentRecord($0.0, $0.1) })
            {
                _ = try result.get()
            }
            await producer.close()
        }
        let stop = StopSignal()
        let system = try await start(cluster, stop)
        let atBegin = Mutex<ProcessUsage?>(nil)
        let atEnd = Mutex<ProcessUsage?>(nil)
        let load = try await runLoad(
            cluster.bootstrapServers, { atBegin.withLock { $0 = .now() } }, { atEnd.withLock { $0 = .now() } })
        let begin = atBegin.withLock { $0 }
        let end = atEnd.withLock { $0 } ?? .now()
        let cpuSeconds = end.cpuSeconds - (begin?.cpuSeconds ?? 0)
        let writtenBytes = begin?.writtenBytes.flatMap { before in end.writtenBytes.map { $0 - before } }
        var threadSeconds: (store: Double, kafka: Double)?
        if let begin, !end.threads.threads.isEmpty {
            threadSeconds = (
                ThreadCPU.seconds(from: begin.threads, to: end.threads) {
                    $0 == StoreDatabase.storeThreadName || $0 == StoreDatabase.postgresThreadName
                },
                ThreadCPU.seconds(from: begin.threads, to: end.threads) {
                    $0.hasPrefix(KafkaThreadNames.librdkafkaPrefix) || $0 == KafkaThreadNames.consume
                        || $0 == KafkaThreadNames.delivery
                }
            )
        }
        let machineStealShare = begin?.machine.flatMap { before in
            end.machine.flatMap { MachineCPU.stealShare(from: before, to: $0) }
        }
        stop.set()
        let extra = try await system.value
        return Measurement(
            load: load, cpuSeconds: cpuSeconds, writtenBytes: writtenBytes, threadSeconds: threadSeconds,
            machineStealShare: machineStealShare, extra: extra)
    }
}

/// This process's CPU time and bytes written at one instant; a run's figures are the difference
/// of two.
private struct ProcessUsage {
    var cpuSeconds: Double
    var writtenBytes: Double?
    var threads: ThreadCPU
    var machine: MachineCPU?

    static func now() -> ProcessUsage {
        ProcessUsage(
            cpuSeconds: ProcessCPU.seconds(), writtenBytes: ProcessIO.writtenBytes(), threads: .now(),
            machine: .now())
    }
}

/// The broker a measured system runs against (in this process or another).
struct BenchmarkBroker: Sendable {
    var bootstrapServers: String
    var stop: @Sendable () async -> Void
}

/// Why a benchmark run could not produce figures.
enum BenchmarkError: Error, CustomStringConvertible {
    case eventsMissing(arrived: Int, expected: Int)
    case withdrawalNotSeen
    case instancesNeedPostgres

    var description: String {
        switch self {
        case .eventsMissing(let arrived, let expected):
            "only \(arrived) of \(expected) events arrived before the time limit"
        case .withdrawalNotSeen: "a consent change did not reach the view within 30 s"
        case .instancesNeedPostgres: "more than one bridge instance shares the bridge store: use --store postgres"
        }
    }
}

/// The bridge's stage totals, handed out of the benchmark's background task.
final class StageSnapshot: Sendable {
    private let value = Mutex<[BridgeMetrics.Stage: BridgeMetrics.StageTotals]>([:])
    func store(_ stages: [BridgeMetrics.Stage: BridgeMetrics.StageTotals]) { value.withLock { $0 = stages } }
    func load() -> [BridgeMetrics.Stage: BridgeMetrics.StageTotals] { value.withLock { $0 } }
}

/// A flag the benchmark's background work polls to know when to stop.
final class StopSignal: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .acquiring) }
    func set() { flag.store(true, ordering: .releasing) }
}
