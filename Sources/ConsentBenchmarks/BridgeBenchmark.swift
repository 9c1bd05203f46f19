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
        /// CPU time of this process (all threads, getrusage) per event, over each measured run:
        /// it includes the in-process load generator and reader, and with the broker in this
        /// process the broker too (`--broker process` keeps the broker out).
        package var equalWorkCPUMicrosecondsPerEvent: Double
        package var bridgeCPUMicrosecondsPerEvent: Double
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
    package var logger: Logger

    package init(
        events: Int, rate: Int? = nil, contractsDirectory: String,
        startBroker: (@Sendable () async throws -> ExternalBroker)? = nil,
        postgresBaseURL: String? = nil,
        logger: Logger
    ) {
        self.events = events
        self.rate = rate
        self.contractsDirectory = contractsDirectory
        self.startBroker = startBroker
        self.postgresBaseURL = postgresBaseURL
        self.logger = logger
    }

    /// Partitions per topic: the mock keeps at most ~5 MiB per partition and silently drops
    /// older records (docs/kafka.md); the events' keys spread them over 24 partitions, ~1 MiB each.
    package static let partitionsPerTopic = 24

    static let tuning = EmbeddedKafkaCluster.consumerTuning

    package func run() async throws -> Result {
        let examples = URL(fileURLWithPath: contractsDirectory).appendingPathComponent("examples")
        let consentTemplate =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: examples.appendingPathComponent("consent/valid/granted-full-written.json")))
            as! [String: Any]
        let referralTemplate =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: examples.appendingPathComponent("referral/valid/not-sick-listed-minimal.json")))
            as! [String: Any]
        // Events for 64 consented patients: one key per patient spreads the events over the
        // partitions. (With one key, all 20,000 events went to one partition; the mock keeps at
        // most ~5 MiB per partition and silently drops older records, so a bridge lagging by
        // ~4,000 events lost records to the mock and the run never finished.)
        let patients = NorwegianIdentifier.syntheticFodselsnumre(count: 64)
        let patient = patients[0]
        func consent(for subject: String, version: Int, status: String) throws -> [UInt8] {
            var object = consentTemplate
            // The job specialist alone: one copy per referral, so the bridge's Kafka work is the
            // equal-work passthrough's (1 in, 3 out). A consent naming the NAV veileder too
            // makes a second copy and notice (5 out; docs/rules.md R9).
            object["recipientRoles"] = ["ips-job-specialist"]
            object["patientId"] = subject
            object["consentId"] = UUID.random().lowercaseString
            object["version"] = version
            object["status"] = status
            return Array(try JSONSerialization.data(withJSONObject: object))
        }
        let patientConsent = try consent(for: patient, version: 1, status: "granted")
        func consent(version: Int, status: String) throws -> [UInt8] {
            // Later versions of patient 0's consent keep its consent id.
            var object = try JSONSerialization.jsonObject(with: Data(patientConsent)) as! [String: Any]
            object["version"] = version
            object["status"] = status
            return Array(try JSONSerialization.data(withJSONObject: object))
        }
        let bodies = try patients.map { subject in
            var referral = referralTemplate
            var person = referral["patient"] as! [String: Any]
            person["fodselsnummer"] = subject
            referral["patient"] = person
            return Array(try JSONSerialization.data(withJSONObject: referral))
        }
        let seeds =
            try [(patient, patientConsent)]
            + patients.dropFirst().map { ($0, try consent(for: $0, version: 1, status: "granted")) }
        func event(_ topic: String, _ index: Int) -> KafkaOutgoingRecord {
            KafkaOutgoingRecord(
                topic: topic, key: Array(patients[index % patients.count].utf8), value: bodies[index % patients.count],
                headers: [
                    KafkaHeader(name: "ce_id", string: UUID.random().lowercaseString),
                    KafkaHeader(name: "ce_type", string: "no.ips.health.referral.v1"),
                    KafkaHeader(name: "ce_source", string: "urn:bench"),
                    KafkaHeader(name: "ce_specversion", string: "1.0"),
                    KafkaHeader(name: "ce_time", string: "2026-06-01T10:00:00Z"),
                    KafkaHeader(name: "content-type", string: "application/json"),
                ])
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
        func passthroughSystem(equalWork: Bool) -> (BenchmarkBroker, StopSignal) async throws -> Task<
            [Double], any Error
        > {
            { cluster, stop in
                let client = KafkaClientConfiguration(
                    bootstrapServers: cluster.bootstrapServers, properties: Self.tuning)
                let consumer = try KafkaConsumer(
                    configuration: .init(
                        client: client, groupID: equalWork ? "passthrough-equal" : "passthrough",
                        topics: ["health.ips.outbound"]), logger: logger)
                let producer = try KafkaProducer(
                    configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger)
                return Task {
                    let forward = Task {
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
                            for result in try await producer.send(out) { _ = try result.get() }
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
        let passthrough = try await measure(
            events: events, makeEvent: event, start: passthroughSystem(equalWork: false))
        let equalWork = try await measure(events: events, makeEvent: event, start: passthroughSystem(equalWork: true))

        // (b) The full bridge with SQLite, and (c) withdrawal latency on the same set-up.
        let stages = StageSnapshot()
        let bridge = try await measure(events: events, makeEvent: event, seedConsents: seeds) { cluster, stop in
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
            let configuration = try BridgeConfiguration.load(
                arguments: [],
                environment: [
                    "CONSENT_BRIDGE_ROLES": "bridge", "CONSENT_BRIDGE_EMBEDDED": "true",
                    "CONSENT_BRIDGE_DATA_DIRECTORY": directory,
                    "CONSENT_BRIDGE_CONTRACTS_DIRECTORY": contractsDirectory,
                    "CONSENT_BRIDGE_BRIDGE_STORE": storeLocation,
                    "CONSENT_BRIDGE_KAFKA_FETCH_WAIT_MAX_MS": isExternal ? "50" : "500",
                ], fileContents: nil)
            let client = KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers)
            let application = try await BridgeApplication.make(
                configuration: configuration, kafka: .init(health: client, nav: client),
                consumerTuning: isExternal ? [:] : Self.tuning,
                logger: logger)
            let group = ServiceGroup(
                configuration: .init(services: application.services.map { .init(service: $0) }, logger: logger))
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
                            _ = try await producer.send(
                                KafkaOutgoingRecord(topic: "health.consent", key: Array(patient.utf8), value: body))
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
                stages.store(application.metrics.stages)
                await application.shutdown()
                try? FileManager.default.removeItem(atPath: directory)
                if let scratchDatabase {
                    await PostgresScratchDatabase.drop(
                        url: scratchDatabase.url, baseURL: scratchDatabase.base, logger: logger)
                }
                return withdrawal
            }
        }
        return Result(
            passthroughPerSecond: passthrough.perSecond, passthroughLatency: passthrough.latency,
            equalWorkPerSecond: equalWork.perSecond,
            equalWorkCPUMicrosecondsPerEvent: equalWork.cpuSeconds * 1e6 / Double(events),
            bridgeCPUMicrosecondsPerEvent: bridge.cpuSeconds * 1e6 / Double(events),
            bridgePerSecond: bridge.perSecond, bridgeLatency: bridge.latency, withdrawalLatency: bridge.extra.sorted(),
            bridgeStages: stages.load())
    }

    /// Starts a cluster and the system under test, produces `events` records into
    /// `health.ips.outbound`, and times their arrival on `nav.followup.inbound`.
    private func measure(
        events: Int, makeEvent: (String, Int) -> KafkaOutgoingRecord, seedConsents: [(String, [UInt8])] = [],
        start: (BenchmarkBroker, StopSignal) async throws -> Task<[Double], any Error>
    ) async throws -> (perSecond: Double, latency: [Double], extra: [Double], cpuSeconds: Double) {
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
            let result = try await measure(
                on: cluster, events: events, makeEvent: makeEvent, seedConsents: seedConsents, start: start)
            await cluster.stop()
            return result
        } catch {
            await cluster.stop()
            throw error
        }
    }

    private func measure(
        on cluster: BenchmarkBroker, events: Int, makeEvent: (String, Int) -> KafkaOutgoingRecord,
        seedConsents: [(String, [UInt8])],
        start: (BenchmarkBroker, StopSignal) async throws -> Task<[Double], any Error>
    ) async throws -> (perSecond: Double, latency: [Double], extra: [Double], cpuSeconds: Double) {
        let producer = try KafkaProducer(
            configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger)
        if !seedConsents.isEmpty {
            for result in try await producer.send(
                seedConsents.map { KafkaOutgoingRecord(topic: "health.consent", key: Array($0.0.utf8), value: $0.1) })
            {
                _ = try result.get()
            }
        }
        let reader = try KafkaConsumer(
            // The bridge's copies carry ids it minted; its receipts say which event each came from.
            configuration: .init(
                client: .init(bootstrapServers: cluster.bootstrapServers, properties: Self.tuning),
                groupID: "bench-reader",
                topics: ["nav.followup.inbound", "health.ips.receipts"]),
            logger: logger)
        let stop = StopSignal()
        let system = try await start(cluster, stop)
        // Warm-up: one event end to end (group joins, consent view caught up).
        _ = try await producer.send(makeEvent("health.ips.outbound", 0))
        var iterator = reader.batches.makeAsyncIterator()
        while let batch = try await iterator.next(), !batch.contains(where: { $0.topic == "nav.followup.inbound" }) {}

        let records = (0..<events).map { makeEvent("health.ips.outbound", $0) }
        let begin = ContinuousClock.now
        let cpuAtBegin = Self.processCPUSeconds()
        // Offered load: chunks enqueued back to back (not each awaited: awaiting a chunk
        // spread over many partitions took ~50 ms on the mock and capped both systems at
        // ~2,000 events/s); every delivery report is checked at the end. With a rate, each chunk
        // (a 5 ms share of the rate, at least one event) waits for its due time, so latency is
        // measured below saturation.
        let rate = self.rate
        let chunkSize = rate.map { max(1, $0 / 200) } ?? 100
        let sender = Task {
            var times: [String: ContinuousClock.Instant] = [:]
            var pending: [KafkaPendingDelivery] = []
            for chunk in stride(from: 0, to: records.count, by: chunkSize) {
                if let rate {
                    try await Task.sleep(until: begin + .seconds(Double(chunk) / Double(rate)), clock: .continuous)
                }
                let slice = Array(records[chunk..<min(chunk + chunkSize, records.count)])
                let now = ContinuousClock.now
                for record in slice { times[record.headers.string(named: "ce_id")!] = now }
                pending.append(try await producer.enqueue(slice))
            }
            for delivery in pending {
                for result in await delivery.results() { _ = try result.get() }
            }
            return times
        }
        var latency: [Double] = []
        var arrivals: [String: ContinuousClock.Instant] = [:]
        // Fail rather than hang if events go missing (they must not; this is a benchmark).
        let watchdog = Task {
            try await Task.sleep(for: .seconds(max(120, events / 200)))
            await reader.close()
        }
        defer { watchdog.cancel() }
        let sentIDs = Set(records.compactMap { $0.headers.string(named: "ce_id") })
        var sourceOf: [String: String] = [:]  // the bridge's copy id → the event's id
        func sentID(_ arrived: String) -> String? { sentIDs.contains(arrived) ? arrived : sourceOf[arrived] }
        // Arrivals are matched to sent events as soon as both the copy and (for the bridge) its
        // receipt are in, whichever comes first.
        var matched = 0
        while matched < events, let batch = try await iterator.next() {
            let now = ContinuousClock.now
            for record in batch {
                if record.topic == "health.ips.receipts" {
                    guard let receipt = try? BridgeReceipt(json: StrictJSON.parse(record.value ?? [])),
                        let copy = receipt.forwardedID,
                        sourceOf[copy] == nil
                    else { continue }
                    sourceOf[copy] = receipt.messageID
                    if arrivals[copy] != nil, sentIDs.contains(receipt.messageID) { matched += 1 }
                } else if let id = record.headers.string(named: "ce_id"), arrivals[id] == nil {
                    arrivals[id] = now
                    if let original = sentID(id), sentIDs.contains(original) { matched += 1 }
                }
            }
        }
        let end = ContinuousClock.now
        let cpuSeconds = Self.processCPUSeconds() - cpuAtBegin
        guard matched >= events else { throw BenchmarkError.eventsMissing(arrived: matched, expected: events) }
        let sentAt = try await sender.value
        for (id, arrived) in arrivals {
            if let original = sentID(id), let sent = sentAt[original] {
                latency.append((arrived - sent).seconds * 1000)
            }
        }
        stop.set()
        let extra = try await system.value
        await reader.close()
        await producer.close()
        return (Double(events) / (end - begin).seconds, latency.sorted(), extra, cpuSeconds)
    }
}

extension BridgeBenchmark {
    /// User and system CPU time of this process so far (every thread).
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        #if canImport(Glibc)
            guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        #else
            guard getrusage(RUSAGE_SELF, &usage) == 0 else { return 0 }
        #endif
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
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

    var description: String {
        switch self {
        case .eventsMissing(let arrived, let expected):
            "only \(arrived) of \(expected) events arrived before the time limit"
        case .withdrawalNotSeen: "a consent change did not reach the view within 30 s"
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
