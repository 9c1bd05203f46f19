import ConsentBridge
import ConsentBridgeTesting
import ConsentConfiguration
import ConsentContracts
import ConsentKafka
import ConsentPolicy
import ConsentStorage
import Foundation
import InMemoryLogging
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// Captures every log line (message and metadata) so tests can prove what never appears:
/// swift-log's in-memory handler, read back as text.
final class CapturedLogs: Sendable {
    private let handler = InMemoryLogHandler()

    /// Every line so far: level, message and metadata (the error too, when one was logged).
    var all: [String] {
        handler.entries.map { entry in
            "\(entry.level) \(entry.message) \(entry.metadata)" + (entry.error.map { " \($0)" } ?? "")
        }
    }

    var logger: Logger {
        var logger = Logger(label: "bridge-tests") { [handler] _ in handler }
        logger.logLevel = .trace
        return logger
    }
}

/// A running bridge on an embedded cluster with SQLite stores in a temporary folder.
final class BridgeHarness: Sendable {
    static let contractsDirectory = RepositoryPaths.contractsDirectory

    /// The cluster the bridge runs on, and the producer publishing to it (`replaceCluster`
    /// swaps both; the replaced ones are kept, running, until `finish`).
    private let kafka: Mutex<(cluster: EmbeddedKafkaCluster, producer: KafkaProducer, replaced: [EmbeddedKafkaCluster])>
    var cluster: EmbeddedKafkaCluster { kafka.withLock { $0.cluster } }
    var producer: KafkaProducer { kafka.withLock { $0.producer } }
    let directory: String
    let logs = CapturedLogs()
    let configuration: BridgeConfiguration
    private let running = Mutex<(group: ServiceGroup, task: Task<Void, any Error>, application: BridgeApplication)?>(
        nil)
    private let partitions: Int

    var topics: TopicNames { configuration.topics }

    /// The bridge store's PostgreSQL scratch database, when the harness runs on PostgreSQL.
    let postgresDatabase: String?

    /// A harness whose bridge store is on `engine` (a scratch PostgreSQL database, dropped by `finish`).
    static func make(engine: BridgeStoreEngine, partitions: Int = 3, environment: [String: String] = [:]) async throws
        -> BridgeHarness
    {
        switch engine {
        case .sqlite:
            return try BridgeHarness(partitions: partitions, environment: environment)
        case .postgres:
            let base = try #require(BridgeStoreEngine.postgresURL)
            let url = try await PostgresScratchDatabase.create(
                baseURL: base, prefix: "bridge_e2e", logger: Logger(label: "scratch"))
            return try BridgeHarness(partitions: partitions, postgresDatabase: url, environment: environment)
        }
    }

    /// `roles`: the roles the harness runs (`bridge`, or with the sinks for tests of the whole).
    init(
        partitions: Int = 3, postgresDatabase: String? = nil, roles: String = "bridge",
        environment extra: [String: String] = [:]
    ) throws {
        self.postgresDatabase = postgresDatabase
        self.partitions = partitions
        directory =
            FileManager.default.temporaryDirectory.appendingPathComponent("bridge-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        configuration = try BridgeConfiguration.load(
            arguments: [],
            environment: [
                "CONSENT_BRIDGE_ROLES": roles,
                "CONSENT_BRIDGE_EMBEDDED": "true",
                "CONSENT_BRIDGE_DATA_DIRECTORY": directory,
                "CONSENT_BRIDGE_CONTRACTS_DIRECTORY": Self.contractsDirectory,
                "CONSENT_BRIDGE_BRIDGE_STORE": postgresDatabase ?? directory + "/bridge.sqlite",
                "CONSENT_BRIDGE_RELAY_RETRY_INITIAL_BACKOFF_MS": "50",
            ].merging(extra) { _, new in new },
            fileContents: nil)
        let (cluster, producer) = try Self.makeCluster(topics: configuration.topics, partitions: partitions)
        kafka = Mutex((cluster, producer, []))
    }

    /// An embedded cluster with every topic, and a producer publishing to it.
    private static func makeCluster(topics: TopicNames, partitions: Int) throws -> (EmbeddedKafkaCluster, KafkaProducer)
    {
        let cluster = try EmbeddedKafkaCluster(
            brokers: 1, logger: Logger(label: "cluster") { _ in SwiftLogNoOpLogHandler() })
        for topic in topics.all {
            try cluster.createTopic(topic, partitions: partitions)
        }
        let producer = try KafkaProducer(
            configuration: KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers),
            logger: Logger(label: "p") { _ in SwiftLogNoOpLogHandler() })
        return (cluster, producer)
    }

    /// Replaces the Kafka cluster with a new, empty one holding the same topics, as when Kafka
    /// is rebuilt or a standby cluster takes over: the next `start`, `publish…` and `read` use
    /// it. The old one keeps running, apart, until `finish` (so the two never share an id).
    func replaceCluster() async throws {
        let (cluster, producer) = try Self.makeCluster(topics: topics, partitions: partitions)
        let old = kafka.withLock { kafka in
            defer { kafka = (cluster, producer, kafka.replaced + [kafka.cluster]) }
            return kafka.producer
        }
        await old.close()
    }

    /// When set, the bridge bootstraps through this fixed loopback port instead of the
    /// cluster's own (`useStableBootstrap`).
    private let forwarder = Mutex<LoopbackForwarder?>(nil)

    /// The address the bridge is given: the stable one once `useStableBootstrap` was called.
    var bridgeBootstrap: String {
        forwarder.withLock { $0.map { "127.0.0.1:\($0.port)" } } ?? cluster.bootstrapServers
    }

    /// From the next `start` on, the bridge bootstraps through a fixed loopback port forwarded
    /// to the cluster (what `consent-bridge broker --port` gives), so that the cluster behind it
    /// can be replaced while the bridge runs (`replaceClusterUnderTheBridge`).
    func useStableBootstrap() throws {
        let target = try Self.port(of: cluster)
        let forwarding = try LoopbackForwarder(port: 0, targetPort: target, logger: Logger(label: "forwarder"))
        forwarder.withLock { $0 = forwarding }
    }

    /// The (one) broker's port of `cluster`.
    static func port(of cluster: EmbeddedKafkaCluster) throws -> UInt16 {
        let port = cluster.bootstrapServers.split(separator: ":").last.flatMap { UInt16($0) }
        return try #require(port, "a one-broker cluster's address ends in its port")
    }

    /// Kafka rebuilt behind the bridge's (stable) address while it runs: a new cluster takes
    /// the bootstrap port, the old one's broker goes down (its connections drop, as when its
    /// process is killed). The harness publishes to and reads from the new one afterwards.
    func replaceClusterUnderTheBridge() async throws {
        let old = cluster
        try await replaceCluster()
        old.setBrokerDown()
        let target = try Self.port(of: cluster)
        let current = try #require(forwarder.withLock { $0 }, "useStableBootstrap was not called")
        current.stop()
        let replacement = try LoopbackForwarder(
            port: current.port, targetPort: target, logger: Logger(label: "forwarder"))
        forwarder.withLock { $0 = replacement }
    }

    /// The running bridge's end: the error that stopped it, or nil when it did not stop within
    /// `timeout` (or stopped without one).
    func haltError(within timeout: Duration) async -> (any Error)? {
        guard let task = running.withLock({ $0?.task }) else { return nil }
        // Waiting for a task's value does not end when the waiter is cancelled: watched apart.
        let ended = Mutex<Result<Void, any Error>?>(nil)
        Task {
            let result = await task.result
            ended.withLock { $0 = result }
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let result = ended.withLock({ $0 }) {
                if case .failure(let error) = result { return error }
                return nil
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    /// A cluster of the NAV side's own holding its `nav.*` topics (as many partitions as the
    /// harness's), for `start(navCluster:)`; the caller shuts it down.
    func makeNavCluster() throws -> EmbeddedKafkaCluster {
        let nav = try EmbeddedKafkaCluster(brokers: 1, logger: Logger(label: "nav") { _ in SwiftLogNoOpLogHandler() })
        for topic in topics.all where topic.hasPrefix("nav.") { try nav.createTopic(topic, partitions: partitions) }
        return nav
    }

    static let tuning = EmbeddedKafkaCluster.consumerTuning

    /// Starts the bridge's services; `clientProperties` are librdkafka properties of every
    /// client the application makes (e.g. a small `message.max.bytes`).
    /// `navCluster`: the NAV side's own cluster (by default both sides share the harness's);
    /// `navBootstrap`: its address when not its own (a forwarder in front of it).
    /// `clusterCheckInterval`: the Kafka cluster guard's period (see `BridgeApplication.make`).
    func start(
        clientProperties: [String: String] = [:], navCluster: EmbeddedKafkaCluster? = nil,
        navBootstrap: String? = nil, clusterCheckInterval: Duration = .seconds(5)
    ) async throws {
        let client = KafkaClientConfiguration(bootstrapServers: bridgeBootstrap, properties: clientProperties)
        let navClient = KafkaClientConfiguration(
            bootstrapServers: navBootstrap ?? navCluster?.bootstrapServers ?? bridgeBootstrap,
            properties: clientProperties)
        let application = try await BridgeApplication.make(
            configuration: configuration, kafka: .init(health: client, nav: navClient), consumerTuning: Self.tuning,
            clusterCheckInterval: clusterCheckInterval, logger: logs.logger)
        let group = ServiceGroup(
            configuration: .init(
                services: application.services.map { .init(service: $0) }, gracefulShutdownSignals: [],
                cancellationSignals: [], logger: logs.logger))
        let task = Task { try await group.run() }
        running.withLock { $0 = (group, task, application) }
    }

    /// Stops the services gracefully and closes the stores. Returns the error the service
    /// group ended with (nil when every service returned normally, or nothing ran).
    @discardableResult
    func stop() async -> (any Error)? {
        guard
            let current = running.withLock({ state in
                defer { state = nil }
                return state
            })
        else { return nil }
        await current.group.triggerGracefulShutdown()
        var ending: (any Error)?
        do { try await current.task.value } catch { ending = error }
        await current.application.shutdown()
        // Asked to stop, every service returns: one that throws its cancellation instead makes
        // the group cancel the services stopped after it (the relay's drain among them).
        if ending is CancellationError {
            Issue.record("a graceful stop ended in cancellation: a service threw at its graceful shutdown")
        }
        return ending
    }

    func finish() async {
        await stop()
        forwarder.withLock { $0?.stop() }
        await producer.close()
        let clusters = kafka.withLock { [$0.cluster] + $0.replaced }
        for cluster in clusters { cluster.shutdown() }
        try? FileManager.default.removeItem(atPath: directory)
        if let postgresDatabase, let base = BridgeStoreEngine.postgresURL {
            await PostgresScratchDatabase.drop(url: postgresDatabase, baseURL: base, logger: Logger(label: "scratch"))
        }
    }

    /// The running application (nil before `start` and after `stop`).
    var application: BridgeApplication? { running.withLock { $0?.application } }

    /// Opens the bridge store the harness's bridge writes to (after `stop`, to inspect it).
    func openBridgeStore() async throws -> BridgeStore {
        let location = try #require(configuration.bridgeStore)
        return try await BridgeStore.open(
            location, logger: Logger(label: "inspect"))
    }

    var metrics: BridgeMetrics? { running.withLock { $0?.application.metrics } }
    var redrive: RejectionRedrive? { running.withLock { $0?.application.redrive } }

    /// Publishes a consent record as EPJ does: keyed by the patient, with the consent contract's
    /// CloudEvents headers (without them neither the bridge nor the journal holds it as a
    /// consent); `nil` publishes a tombstone (no consent), which needs none.
    func publishConsent(patient: String, _ body: [UInt8]?) async throws {
        guard let body else {
            _ = try await producer.send(
                KafkaOutgoingRecord(topic: topics.healthConsent, key: Array(patient.utf8), value: nil))
            return
        }
        try await publishEvent(
            topic: topics.healthConsent, ceType: ContractVocabulary.consentType, key: patient, body: body)
    }

    /// Publishes a consent record the way a careless producer does: keyed by the patient, but
    /// without CloudEvents headers.
    func publishConsentWithoutHeaders(patient: String, _ body: [UInt8]) async throws {
        _ = try await producer.send(
            KafkaOutgoingRecord(topic: topics.healthConsent, key: Array(patient.utf8), value: body))
    }

    /// Publishes an event with CloudEvents headers; returns its ce_id.
    @discardableResult
    func publishEvent(
        topic: String, ceType: String, key: String, body: [UInt8], id: String = UUID().uuidString.lowercased(),
        source: String = "urn:test"
    ) async throws -> String {
        try await self.publishEvent(
            topic: topic, typeHeaders: [KafkaHeader(name: "ce_type", string: ceType)], key: key, body: body, id: id,
            source: source)
    }

    /// Publishes an event with CloudEvents headers, its `ce_type` headers as given (none, empty,
    /// several); returns its ce_id.
    @discardableResult
    func publishEvent(
        topic: String, typeHeaders: [KafkaHeader], key: String, body: [UInt8],
        id: String = UUID().uuidString.lowercased(), source: String = "urn:test"
    ) async throws -> String {
        let headers =
            [KafkaHeader(name: "ce_id", string: id)] + typeHeaders + [
                KafkaHeader(name: "ce_source", string: source), KafkaHeader(name: "ce_specversion", string: "1.0"),
                KafkaHeader(name: "ce_time", string: "2026-06-01T10:00:00Z"),
                KafkaHeader(name: "content-type", string: "application/json"),
            ]
        _ = try await producer.send(
            KafkaOutgoingRecord(topic: topic, key: Array(key.utf8), value: body, headers: headers))
        return id
    }

    /// Reads `topic` from the beginning until at least `count` records arrived and everything
    /// up to the high watermarks (taken once the reader is assigned) has been read, or until
    /// `timeout`. With `count` 0 it returns exactly what the topic holds now, so an empty
    /// result proves the topic is empty (the reader has really joined and caught up). The
    /// default timeout is wide: a read ends as soon as the records are in, and with 30 s the
    /// bridge had once not decided one referral yet in the full parallel run on two cores.
    func read(_ topic: String, atLeast count: Int, timeout: Duration = .seconds(90)) async throws -> [KafkaRecord] {
        try await Self.read(topic, bootstrap: cluster.bootstrapServers, atLeast: count, timeout: timeout)
    }

    /// `read` against any cluster.
    static func read(_ topic: String, bootstrap: String, atLeast count: Int, timeout: Duration = .seconds(90))
        async throws -> [KafkaRecord]
    {
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                client: KafkaClientConfiguration(bootstrapServers: bootstrap, properties: Self.tuning),
                groupID: "reader-\(UUID().uuidString)", topics: [topic]),
            logger: Logger(label: "reader") { _ in SwiftLogNoOpLogHandler() })
        try consumer.start()
        let collected = Mutex<[KafkaRecord]>([])
        let reader = Task {
            for try await batch in consumer.batches { collected.withLock { $0.append(contentsOf: batch) } }
        }
        let deadline = ContinuousClock.now + timeout
        // Joined: wait for the assignment, then note where each partition ends now.
        let assignment = Task {
            for await change in consumer.assignmentChanges {
                if case .assigned(let starts) = change { return Array(starts.keys) }
            }
            return [KafkaTopicPartition]()
        }
        let assignmentTimeout = Task {
            try await Task.sleep(for: timeout)
            assignment.cancel()
        }
        let assigned = await assignment.value
        assignmentTimeout.cancel()
        var ends: [KafkaTopicPartition: Int64] = [:]
        for partition in assigned {
            ends[partition] = try await consumer.highWatermark(topic: partition.topic, partition: partition.partition)
        }
        func caughtUp(_ records: [KafkaRecord]) -> Bool {
            ends.allSatisfy { partition, end in
                end == 0 || records.contains { $0.topicPartition == partition && $0.offset + 1 >= end }
            }
        }
        while ContinuousClock.now < deadline {
            let records = collected.withLock { $0 }
            if records.count >= count && caughtUp(records) { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        await consumer.close()
        _ = try? await reader.value
        let records = collected.withLock { $0 }
        // A reader that never joined, or never reached the ends, returns too little: a test that
        // then checks a topic is empty (or holds only so much) would pass whatever the bridge
        // did. Said, so that it fails instead.
        if assigned.isEmpty || !caughtUp(records) {
            Issue.record(
                "reading \(topic) was cut off at \(timeout): \(assigned.isEmpty ? "never assigned" : "not caught up to the high watermarks"), so what it returned proves nothing"
            )
        }
        return records
    }
}

/// Example messages from Contracts/examples, adjusted per test.
/// The engines the bridge's end-to-end tests run their bridge store on.
typealias BridgeStoreEngine = TestDatabaseEngine

enum Fixtures {
    static func json(_ path: String) throws -> [String: Any] {
        let url = URL(fileURLWithPath: BridgeHarness.contractsDirectory).appendingPathComponent("examples/\(path)")
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    /// Every valid example of `contract` (Contracts/examples/<contract>/valid), parsed.
    static func validExamples(_ contract: String) throws -> [[String: Any]] {
        let folder = URL(fileURLWithPath: BridgeHarness.contractsDirectory).appendingPathComponent(
            "examples/\(contract)/valid")
        return try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }
            .sorted().map {
                try json("\(contract)/valid/\($0)")
            }
    }

    /// `example` about `subject` (at the contract's subject path), with a fresh `eventId`.
    static func with(subject: String, at path: [String], in example: [String: Any]) throws -> [UInt8] {
        func set(_ value: Any, _ path: ArraySlice<String>, in object: [String: Any]) -> [String: Any] {
            guard let first = path.first else { return object }
            var copy = object
            copy[first] =
                path.count == 1 ? value : set(value, path.dropFirst(), in: (object[first] as? [String: Any]) ?? [:])
            return copy
        }
        var object = set(subject, path[...], in: example)
        if object["eventId"] != nil { object["eventId"] = UUID().uuidString.lowercased() }
        return try bytes(object)
    }

    static func bytes(_ object: [String: Any]) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    /// A consent record for `patient` with `status` and `version`, based on the full example,
    /// valid from a day ago for a year (the example's own dates would expire).
    static func consent(
        patient: String, status: String = "granted", version: Int = 1, categories: [String]? = nil,
        roles: [String]? = nil
    ) throws -> [UInt8] {
        var object = try json("consent/valid/granted-full-written.json")
        let format = ISO8601DateFormatter()
        object["validFrom"] = format.string(from: Date().addingTimeInterval(-86_400))
        object["recordedAt"] = format.string(from: Date().addingTimeInterval(-86_400))
        object["validUntil"] = format.string(from: Date().addingTimeInterval(365 * 86_400))
        object["patientId"] = patient
        object["status"] = status
        object["version"] = version
        if let categories { object["categories"] = categories }
        if let roles { object["recipientRoles"] = roles }
        return try bytes(object)
    }

    /// The record builder a bridge on `topics` uses, with a fixed test sealing key (for
    /// decisions recorded behind the running bridge's back).
    static func recordBuilder(_ topics: TopicNames, catalog: PolicyCatalog) -> BridgeRecordBuilder {
        let key = SealingKey(id: "test", bytes: Array(repeating: 7, count: 32))
        return BridgeRecordBuilder(
            topics: .init(topics), catalog: catalog,
            sealer: PayloadSealer(health: SealingKeyRing(current: key), nav: SealingKeyRing(current: key)),
            bridgeVersion: "test")
    }

    /// A referral (not sick-listed) for `patient`, with the patient's own words when given.
    static func referral(patient: String, motivation: String? = nil) throws -> [UInt8] {
        var object = try json("referral/valid/not-sick-listed-minimal.json")
        var person = object["patient"] as! [String: Any]
        person["fodselsnummer"] = patient
        object["patient"] = person
        if let motivation {
            var referral = object["referral"] as! [String: Any]
            referral["motivation"] = motivation
            object["referral"] = referral
        }
        object["eventId"] = UUID().uuidString.lowercased()
        return try bytes(object)
    }
}

extension EmbeddedKafkaCluster {
    /// Moves the leader of partitions 0..<`partitions` of each of `topics` to `broker`; -1
    /// leaves them without one, so that what is produced to them waits in the producer.
    func setLeaders(of topics: [String], partitions: Int32 = 3, to broker: Int32) {
        for topic in topics {
            for partition in Int32(0)..<partitions {
                setPartitionLeader(topic: topic, partition: partition, broker: broker)
            }
        }
    }
}
