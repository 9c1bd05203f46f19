package import ConsentConfiguration
import ConsentContracts
package import ConsentKafka
import ConsentPolicy
import ConsentResilience
import ConsentSinks
package import ConsentStorage
import Foundation
package import Logging
package import ServiceLifecycle

/// The composition root: wires the Kafka clients, the policy and the stores into the
/// services a `consent-bridge run` process runs, for the roles it was configured with.
package struct BridgeApplication: Sendable {
    /// Where each side's Kafka cluster is (the same cluster for both when embedded).
    package struct KafkaEndpoints: Sendable {
        /// The health side's cluster (its topics, `bridge.rejected` included).
        package var health: KafkaClientConfiguration
        /// The NAV side's cluster.
        package var nav: KafkaClientConfiguration

        /// Endpoints for the two sides; pass the same configuration twice for one shared cluster.
        package init(health: KafkaClientConfiguration, nav: KafkaClientConfiguration) {
            self.health = health
            self.nav = nav
        }
    }

    /// The bridge's version, recorded with every decision and disclosure.
    package static let version = "0.1.0"

    /// The longest fetch wait of the consent consumer: it bounds how late a withdrawal is seen
    /// (R5) on brokers that hold an empty fetch for the full wait whatever arrives meanwhile
    /// (librdkafka's mock does: at 100 ms, a withdrawal reached the view 48–56 ms after its
    /// acknowledgement at p50, 82–96 ms at p99). Real brokers answer as soon as data arrives,
    /// so on them this only adds idle fetches (at most 100 a second, one small request each).
    package static let consentFetchWaitMaxMilliseconds = 10

    /// How often the consent consumer asks for the topic's metadata. librdkafka's default is
    /// 5 minutes, and a subscribed consumer is assigned partitions added to `health.consent` only
    /// then: meanwhile the consent gate, which counts the partitions every second, holds every
    /// batch (fail closed) until the view has read the new ones.
    package static let consentMetadataRefreshMilliseconds = 10_000

    /// Consumer defaults for the consent topic: the configured fetch wait, capped (see
    /// `consentFetchWaitMaxMilliseconds`), and metadata asked every 10 s (see
    /// `consentMetadataRefreshMilliseconds`).
    package static func consentConsumerProperties(configuredFetchWait: Int) -> [String: String] {
        [
            "fetch.wait.max.ms": "\(min(configuredFetchWait, consentFetchWaitMaxMilliseconds))",
            "topic.metadata.refresh.interval.ms": "\(consentMetadataRefreshMilliseconds)",
        ]
    }

    /// The services for the configured roles, to run in one service group.
    package let services: [any Service]
    /// The readiness and liveness checks of those services.
    package let readiness: BridgeReadiness
    /// The metrics every service records to (emitted at `/metrics`).
    package let metrics: BridgeMetrics
    /// The consent view the bridge decides with (role `bridge`), for benchmarks and tests.
    package let consentView: ConsentViewKeeper?
    /// The operator's redrive of rejected messages (role `bridge`).
    package let redrive: RejectionRedrive?
    /// The bridge store (role `bridge`): the operator service lists rejections from it.
    package let bridgeStore: BridgeStore?
    /// How the operator service shows a rejection's `ce_source` (`operator.known-sources`).
    package let operatorSources: OperatorSafeSources
    /// Closes the stores and the clients no service owns, after the services have stopped. They
    /// close at once, not one after another, so that a client of an unreachable cluster (whose
    /// destroy can take seconds) delays the shutdown by its own wait only.
    package let shutdown: @Sendable () async -> Void

    /// Builds the services for `configuration.roles`. `clusterCheckInterval`: how often the
    /// Kafka cluster guard checks each cluster besides its confirmations per batch (tests
    /// lengthen it to prove the confirmations alone).
    package static func make(
        configuration: BridgeConfiguration, kafka: KafkaEndpoints, consumerTuning: [String: String] = [:],
        clusterCheckInterval: Duration = .seconds(5), logger: Logger
    ) async throws -> BridgeApplication {
        let retryStatus = RetryStatus()
        let retry = RetryPolicy(
            initialDelay: .milliseconds(configuration.retryInitialBackoffMilliseconds),
            maximumDelay: .milliseconds(configuration.retryMaxBackoffMilliseconds), status: retryStatus)
        let metrics = BridgeMetrics()
        var services: [any Service] = []
        var closers: [@Sendable () async -> Void] = []
        // Clients their services close when they stop; closed here only if `make` fails after
        // making them (nothing then runs the services).
        var closedByTheirServices: [@Sendable () async -> Void] = []
        // Each cluster read from or published to, with the store topics whose positions must
        // have been read from it: checked before the services run, before each batch is acted
        // on, and every few seconds.
        let clusterGuard = KafkaClusterGuard(interval: clusterCheckInterval, logger: logger)
        // Not ready while a pipeline, sink or the relay retries a failing store or broker: it
        // decides (or publishes, or applies) nothing meanwhile.
        var readinessChecks: [@Sendable () async -> String?] = [
            {
                let failing = retryStatus.problems
                return failing.isEmpty
                    ? nil : "retrying after infrastructure errors: " + failing.joined(separator: "; ")
            }
        ]
        // Problems a restart would clear (run after the readiness checks, from their results).
        var livenessChecks: [@Sendable () async -> String?] = []
        var consentView: ConsentViewKeeper? = nil
        var redrive: RejectionRedrive? = nil
        var bridgeStore: BridgeStore? = nil
        var operatorSources = OperatorSafeSources(known: configuration.knownSources, sealer: nil)
        do {
            let topics = configuration.topics
            let configured = [
                "session.timeout.ms": "\(configuration.kafkaSessionTimeoutMilliseconds)",
                "heartbeat.interval.ms": "\(max(100, configuration.kafkaSessionTimeoutMilliseconds / 10))",
                "fetch.wait.max.ms": "\(configuration.kafkaFetchWaitMaxMilliseconds)",
            ]
            /// Precedence: the operator's librdkafka properties, the embedded broker's tuning,
            /// `defaults` (per consumer), then the configured consumer keys.
            func tuned(_ client: KafkaClientConfiguration, _ defaults: [String: String] = [:])
                -> KafkaClientConfiguration
            {
                var client = client
                client.properties.merge(consumerTuning) { current, _ in current }
                client.properties.merge(defaults) { current, _ in current }
                client.properties.merge(configured) { current, _ in current }
                return client
            }

            // Each side's sealing keys, made once: in an embedded run without configured keys the
            // bridge and that side's sink share one ephemeral key.
            var keyRings: [BridgeSide: SealingKeyRing] = [:]
            func sealingKeys(_ side: BridgeSide) throws -> SealingKeyRing {
                if let ring = keyRings[side] { return ring }
                let configured = side == .health ? configuration.healthSealingKeys : configuration.navSealingKeys
                let ring = try configured ?? ephemeralKeys(side: side, configuration: configuration)
                keyRings[side] = ring
                return ring
            }

            /// How a sink quarantines and reports breaches (R10): sealed with its side's key, a
            /// notice to both parties' breach topics, each on its party's cluster.
            func breachReporting(_ detector: BreachNotice.Detector, catalog: ContractCatalog) throws -> (
                BreachReporting, SinkService.BreachNotices
            ) {
                let side: BridgeSide = detector == .healthJournalSink ? .health : .nav
                let reporting = BreachReporting(
                    detector: detector, sealer: PayloadSealer.currentBox(try sealingKeys(side)),
                    noticeTopics: [topics.healthBreaches, topics.navBreaches],
                    publishedTypes: Set(catalog.contracts.map(\.ceType)))
                let notices = SinkService.BreachNotices(
                    source: detector.ceSource,
                    clients: [topics.healthBreaches: kafka.health, topics.navBreaches: kafka.nav])
                return (reporting, notices)
            }

            // The contracts, loaded once: the bridge decides with them, the sinks accept by them.
            var loadedCatalog: ContractCatalog?
            func contractCatalog() throws -> ContractCatalog {
                if let loadedCatalog { return loadedCatalog }
                let catalog = try ContractCatalog.load(directory: configuration.contractsDirectory)
                loadedCatalog = catalog
                return catalog
            }

            if configuration.roles.contains(.bridge) {
                guard let location = configuration.bridgeStore else { throw ApplicationError.missingStore("bridge") }
                // The contracts name the default topics; the policy decides on the configured ones.
                let catalog = PolicyCatalog(
                    catalog: try contractCatalog(), topicName: topics.configuredName(ofDefault:))
                guard let consentSchema = catalog.consentSchema else { throw ApplicationError.noConsentContract }
                let store = try await BridgeStore.open(location, logger: logger)
                bridgeStore = store
                closers.append { await store.close() }

                let keeper = ConsentViewKeeper(consentSchema: consentSchema)
                consentView = keeper
                try await ConsentViewService.restore(
                    into: keeper, from: store, topic: topics.healthConsent, retry: retry, logger: logger)
                let consentConsumer = try KafkaConsumer(
                    configuration: KafkaConsumerConfiguration(
                        client: tuned(
                            kafka.health,
                            consentConsumerProperties(configuredFetchWait: configuration.kafkaFetchWaitMaxMilliseconds)),
                        // Every instance reads every consent partition: a group of its own.
                        groupID:
                            "\(configuration.bridgeGroupID)-consent-view-\(UUID().uuidString.prefix(8).lowercased())",
                        topics: [topics.healthConsent],
                        startingOffsets: { partitions, clusterID in
                            // The view's positions, once the consent topic is checked to be on
                            // the cluster they were read from (a replaced one stops the bridge).
                            try await store.database.bindKafkaCluster(
                                consumerGroup: ConsentViewService.offsetsGroup,
                                topics: Set(partitions.map(\.topic)), clusterID: clusterID, store: .bridge)
                            let positions = keeper.positions
                            var starts: [KafkaTopicPartition: Int64] = [:]
                            for partition in partitions { starts[partition] = positions[partition.partition] }
                            return starts.compactMapValues { $0 }
                        }),
                    logger: logger)
                closedByTheirServices.append { await consentConsumer.close() }
                // The gate asks the consent topic's high watermarks before every batch through a
                // client of its own: the consent consumer's connection may hold a long-poll fetch,
                // and the broker would answer the query only after it.
                let consentWatermarks = try KafkaAdmin(configuration: kafka.health, logger: logger)
                closers.append { await consentWatermarks.close() }
                let partitionCount = try await consentPartitionCount(
                    consentWatermarks, topic: topics.healthConsent, retry: retry, logger: logger)
                // Both sides' clusters checked before the relay publishes to either (each side on
                // a cluster of its own: the health pipeline would decide and the relay publish to
                // a NAV cluster never adopted, before the NAV pipeline's assignment halted).
                // Clients of the guard's own: the gate's watermark query, before every batch,
                // must not wait behind the guard's metadata request on a client's one thread.
                let healthAdmin = try KafkaAdmin(configuration: kafka.health, logger: logger)
                closers.append { await healthAdmin.close() }
                let navAdmin = try KafkaAdmin(configuration: kafka.nav, logger: logger)
                closers.append { await navAdmin.close() }
                let healthCluster = clusterGuard.watch(
                    .init(
                        admin: healthAdmin, database: store.database, store: .bridge,
                        topics: Set(topics.outbound(of: .health) + [topics.healthConsent])))
                let navCluster = clusterGuard.watch(
                    .init(
                        admin: navAdmin, database: store.database, store: .bridge,
                        topics: Set(topics.outbound(of: .nav))))
                let gate = ConsentGate(
                    keeper: keeper, consentTopic: topics.healthConsent, partitionCount: partitionCount,
                    watermarkSource: consentWatermarks, consentCluster: healthCluster)
                readinessChecks.append {
                    guard let required = try? await gate.highWatermarks() else {
                        return "health Kafka cluster unreachable"
                    }
                    let positions = keeper.positions
                    metrics.recordConsentViewLag(
                        required.reduce(0) { $0 + Int(max(0, $1.value - (positions[$1.key] ?? 0))) })
                    switch gate.staleness(against: required) {
                    case nil: return nil
                    case .logEndsBeforeView: return "consent topic ends before the consent view's position"
                    case .notCaughtUp: return "consent view not caught up"
                    }
                }
                services.append(
                    ConsentViewService(
                        keeper: keeper, consumer: consentConsumer, store: store, consentTopic: topics.healthConsent,
                        retry: retry, metrics: metrics,
                        logger: logger))

                let sealer = PayloadSealer(health: try sealingKeys(.health), nav: try sealingKeys(.nav))
                operatorSources = OperatorSafeSources(known: configuration.knownSources, sealer: sealer)
                let builder = BridgeRecordBuilder(
                    topics: .init(topics),
                    catalog: catalog, sealer: sealer, bridgeVersion: version)
                // A shared store (PostgreSQL) is published from by one relay at a time. It takes
                // this instance's rows from the handoff while nothing of another instance lies
                // between them, and reads the store otherwise (`OutboxRelay.takeHandedRun`). It is
                // smaller there: an instance whose relay waits for the lease never takes from it
                // (it overflows and holds nothing).
                let handoff = OutboxHandoff(capacity: store.isShared ? 10_000 : 50_000)
                guard let agreementsRegistry = configuration.agreementsRegistry else {
                    throw ApplicationError.missingAgreements
                }
                guard
                    let agreementsSchema = IPSAgreementRegistry.schema(
                        contractsDirectory: configuration.contractsDirectory)
                else {
                    throw ApplicationError.missingAgreements
                }
                let agreements = IPSAgreementRegistry(
                    path: agreementsRegistry, schema: agreementsSchema, logger: logger)
                services.append(agreements)
                let payloadRetention = Duration.seconds(configuration.sealedPayloadRetentionHours * 3600)
                redrive = RejectionRedrive(
                    store: store, gate: gate, catalog: catalog, builder: builder, topics: topics, handoff: handoff,
                    logger: logger, payloadRetention: payloadRetention)
                services.append(
                    SealedPayloadRetention(store: store, retention: payloadRetention, metrics: metrics, logger: logger))
                // The relay goes before the pipelines: a group stops its services in reverse
                // order, so the pipelines stop deciding first and the relay's drain then
                // publishes everything they recorded (it cannot end while they still record).
                let relayPosition = services.count
                for side in BridgeSide.allCases {
                    let client = side == .health ? kafka.health : kafka.nav
                    let consumer = try KafkaConsumer(
                        configuration: KafkaConsumerConfiguration(
                            client: tuned(client),
                            groupID: Self.pipelineGroupID(configuration.bridgeGroupID, side: side),
                            topics: topics.outbound(of: side),
                            maxBatchSize: configuration.batchSize,
                            batchLingerMilliseconds: configuration.batchLingerMilliseconds,
                            startingOffsets: EventPipeline.startingOffsets(
                                store: store, group: configuration.bridgeGroupID)
                        ),
                        logger: logger)
                    closedByTheirServices.append { await consumer.close() }
                    for topic in topics.outbound(of: side) {
                        let watch = PipelineProgressWatch(
                            side: side, topic: topic, group: configuration.bridgeGroupID, consumer: consumer,
                            store: store)
                        readinessChecks.append { await watch.check() }
                        livenessChecks.append { watch.problem }
                    }
                    // Ready only once the pipeline consumes: after a start its group join takes
                    // seconds, and until then nothing is decided.
                    readinessChecks.append {
                        consumer.hasJoinedGroup ? nil : "\(side.rawValue) pipeline not yet in its consumer group"
                    }
                    services.append(
                        EventPipeline(
                            origin: side, consumer: consumer, consumerGroup: configuration.bridgeGroupID, gate: gate,
                            sourceCluster: side == .health ? healthCluster : navCluster, catalog: catalog,
                            builder: builder, store: store, handoff: handoff, retry: retry, logger: logger,
                            metrics: metrics, agreements: agreements))
                }
                let healthProducer = try KafkaProducer(configuration: kafka.health, logger: logger)
                closedByTheirServices.append { await healthProducer.close() }
                let navProducer = try KafkaProducer(configuration: kafka.nav, logger: logger)
                closedByTheirServices.append { await navProducer.close() }
                let producers: [BridgeSide: KafkaProducer] = [.health: healthProducer, .nav: navProducer]
                services.insert(
                    OutboxRelay(
                        store: store, producers: producers,
                        destinationClusters: [.health: healthCluster, .nav: navCluster],
                        clients: [.health: tuned(kafka.health), .nav: tuned(kafka.nav)], topics: topics,
                        consent: keeper, gate: gate,
                        catalog: catalog, handoff: handoff, retry: retry,
                        // An event makes about three outbox rows: the relay reads pages of several
                        // pipeline batches, so that after a handoff overflow it catches up from the store.
                        logger: logger, metrics: metrics, batchSize: configuration.batchSize * 4,
                        maxRecordBytes: [
                            .health: kafka.health.properties["message.max.bytes"].flatMap { Int($0) } ?? 1_000_000,
                            .nav: kafka.nav.properties["message.max.bytes"].flatMap { Int($0) } ?? 1_000_000,
                        ],
                        shutdownDrainBudget: .milliseconds(configuration.relayShutdownDrainMilliseconds)),
                    at: relayPosition)
                services.append(OutboxBacklogGauge(store: store, metrics: metrics, logger: logger))
            }

            /// Runs a side's sink over its opened store: the sink itself, its lag gauge, a
            /// readiness check that holds only while its cluster answers (a short watermark query
            /// on its inbound topic), and a progress watch per topic, as the pipelines have: a
            /// store that fails or does not answer makes the process not ready at once and not
            /// live after 120 s. The gauge and the checks ask through an admin client of the
            /// sink's own; the store and the client close after the services.
            func addSink(
                _ store: any SinkStore, side: BridgeSide, inboundTopic: String, groupID: String,
                notices: SinkService.BreachNotices
            ) throws {
                closers.append { await store.close() }
                // The admin client is a producer instance to librdkafka: the consumer keys stay
                // with the sink's consumer (else librdkafka warns of each at every start).
                let untuned = side == .health ? kafka.health : kafka.nav
                let client = tuned(untuned)
                let admin = try KafkaAdmin(configuration: untuned, logger: logger)
                closers.append { await admin.close() }
                let sink =
                    switch store.kind {
                    case .healthJournal: "health"
                    case .navFollowUp: "follow-up"
                    default: "NAV"
                    }
                readinessChecks.append {
                    (try? await admin.highWatermarks(topic: inboundTopic, partitions: [0], timeout: .seconds(2))) == nil
                        ? "\(sink) sink's Kafka cluster unreachable" : nil
                }
                let sinkCluster = clusterGuard.watch(
                    .init(admin: admin, database: store.database, store: store.kind, topics: Set(store.sinkTopics)))
                let storeName =
                    switch store.kind {
                    case .healthJournal: "health journal store"
                    case .navFollowUp: "follow-up store"
                    default: "NAV case store"
                    }
                for topic in store.sinkTopics {
                    let watch = PipelineProgressWatch(
                        name: "\(sink) sink", storeName: storeName, topic: topic,
                        sources: .init(
                            partitions: {
                                let count =
                                    (try? await admin.metadata(timeout: .seconds(2)))?.topics
                                    .first { $0.name == topic }?.partitionCount ?? 0
                                return (0..<Int32(count)).map { $0 }
                            },
                            highWatermarks: { try await admin.highWatermarks(topic: topic, partitions: $0) },
                            storedOffsets: { try await store.offsets(consumerGroup: groupID) }))
                    readinessChecks.append { await watch.check() }
                    livenessChecks.append { watch.problem }
                }
                services.append(
                    SinkLagGauge(store: store, groupID: groupID, admin: admin, metrics: metrics, logger: logger))
                let kind = store.kind
                services.append(
                    SinkService(
                        store: store, client: client, groupID: groupID, maxBatchSize: configuration.batchSize,
                        breachNotices: notices, onBatch: { metrics.recordSinkBatch($0, sink: kind) }, retry: retry,
                        cluster: sinkCluster, logger: logger))
            }

            // The sinks: each side's topics into that side's own store (R3, R4, R9).
            if configuration.roles.contains(.healthSink) {
                guard let location = configuration.healthStore else {
                    throw ApplicationError.missingStore("health journal")
                }
                var policy = HealthSinkPolicy(catalog: try contractCatalog())
                policy.consentTopic = topics.healthConsent
                policy.inboundTopic = topics.healthInbound
                policy.disclosuresTopic = topics.healthDisclosures
                policy.breachesTopic = topics.healthBreaches
                let (breaches, notices) = try breachReporting(.healthJournalSink, catalog: try contractCatalog())
                let store = try await HealthJournalStore.open(
                    location, policy: policy, breaches: breaches, logger: logger)
                try addSink(
                    store, side: .health, inboundTopic: topics.healthInbound, groupID: configuration.healthSinkGroupID,
                    notices: notices)
            }
            // NAV's two systems, each its own sink and store (R9): the veileder's case system and
            // the IPS job specialist's follow-up solution.
            let navSystems: [(BridgeRole, ContractVocabulary.NavSystem, StoreLocation?, String, String)] = [
                (
                    .navSink, ContractVocabulary.caseSystem, configuration.navStore, configuration.navSinkGroupID,
                    "NAV case"
                ),
                (
                    .followUpSink, ContractVocabulary.followUpSolution, configuration.followUpStore,
                    configuration.followUpSinkGroupID, "follow-up"
                ),
            ]
            for (role, system, location, groupID, name) in navSystems where configuration.roles.contains(role) {
                guard let location else { throw ApplicationError.missingStore(name) }
                var policy = NavSinkPolicy(catalog: try contractCatalog(), system: system)
                policy.inboundTopic = topics.configuredName(ofDefault: policy.inboundTopic)
                policy.ownOutboundTopic = topics.configuredName(ofDefault: policy.ownOutboundTopic)
                policy.disclosuresTopic = topics.configuredName(ofDefault: policy.disclosuresTopic)
                policy.breachesTopic = topics.navBreaches
                let detector: BreachNotice.Detector = policy.kind == .navFollowUp ? .navFollowUpSink : .navCaseSink
                let (breaches, notices) = try breachReporting(detector, catalog: try contractCatalog())
                let store = try await NavSystemStore.open(location, policy: policy, breaches: breaches, logger: logger)
                try addSink(store, side: .nav, inboundTopic: policy.inboundTopic, groupID: groupID, notices: notices)
            }

            // Before any service runs: nothing is read from or published to a cluster its store's
            // positions were not read from; then every few seconds while they run.
            try await clusterGuard.verify(answerTimeout: .seconds(10))
            services.insert(clusterGuard, at: 0)

            let closeStores = closers
            return BridgeApplication(
                services: services,
                readiness: BridgeReadiness(checks: readinessChecks, livenessChecks: livenessChecks),
                metrics: metrics,
                consentView: consentView,
                redrive: redrive,
                bridgeStore: bridgeStore,
                operatorSources: operatorSources,
                shutdown: {
                    await withTaskGroup(of: Void.self) { group in
                        for close in closeStores { group.addTask { await close() } }
                    }
                })
        } catch {
            // Nothing will run or stop the services: close what was made, newest first.
            for close in (closers + closedByTheirServices).reversed() { await close() }
            throw error
        }
    }

    /// The Kafka consumer group of one side's pipeline: `bridge.group-id` plus the side.
    ///
    /// One group per side, even when both sides share a cluster: with one group for both, a
    /// member of either side joining or leaving (an instance starting, a NAV-side reconnect)
    /// revoked every partition of both pipelines until the group re-formed. On the embedded
    /// broker that stalled the health pipeline ~4 s mid-stream whenever the NAV pipeline
    /// joined after it. Positions are unaffected: they live in the bridge store under
    /// `bridge.group-id` itself (`EventPipeline.consumerGroup`), not in Kafka.
    package static func pipelineGroupID(_ bridgeGroupID: String, side: BridgeSide) -> String {
        "\(bridgeGroupID).\(side.rawValue)"
    }

    /// The consent topic's partition count (waits for the topic to exist).
    private static func consentPartitionCount(_ admin: KafkaAdmin, topic: String, retry: RetryPolicy, logger: Logger)
        async throws -> Int32
    {
        try await retry.run("consent topic metadata", logger: logger) {
            guard let count = try await admin.metadata().partitionCount(of: topic) else {
                throw ApplicationError.topicMissing(topic)
            }
            return count
        }
    }

    /// Embedded mode without configured keys: a fresh random key per run (rejections from an
    /// earlier run cannot be opened, which is right for throwaway development data).
    private static func ephemeralKeys(side: BridgeSide, configuration: BridgeConfiguration) throws -> SealingKeyRing {
        guard configuration.isEmbedded else { throw ApplicationError.missingSealingKey(side.rawValue) }
        return SealingKeyRing(current: .random(id: "\(side.rawValue)-ephemeral"), previous: nil)
    }

    /// Why the configuration cannot be turned into an application.
    package enum ApplicationError: Error, CustomStringConvertible {
        /// A role's store location is not configured (the store's name).
        case missingStore(String)
        /// The contracts directory has no consent contract, so consent records cannot be read.
        case noConsentContract
        /// The consent topic does not exist yet; retried until it does.
        case topicMissing(String)
        /// No sealing key configured for the side, and the run is not embedded (no ephemeral key).
        case missingSealingKey(String)
        /// `agreements.registry` is not set, or the contracts lack its schema.
        case missingAgreements

        /// Operator-facing text saying what is missing.
        package var description: String {
            switch self {
            case .missingStore(let store): "no \(store) store configured"
            case .noConsentContract: "the contracts directory has no consent contract"
            case .topicMissing(let topic): "topic \(topic) does not exist yet"
            case .missingSealingKey(let side): "no sealing key configured for the \(side) side"
            case .missingAgreements:
                "no IPS agreements registry: agreements.registry is not set, or the contracts lack registry/ips-agreements.schema.json"
            }
        }
    }
}

/// Whether the process is ready, and live: every check returns `nil` (fine) or a reason.
package struct BridgeReadiness: Sendable {
    let checks: [@Sendable () async -> String?]
    /// Problems only a restart clears (e.g. a stalled pipeline); run after `checks`.
    let livenessChecks: [@Sendable () async -> String?]

    /// Readiness from `checks`; liveness from `livenessChecks` (none by default).
    package init(checks: [@Sendable () async -> String?], livenessChecks: [@Sendable () async -> String?] = []) {
        self.checks = checks
        self.livenessChecks = livenessChecks
    }

    /// Reasons the process is not ready, in the order of the checks; empty when ready.
    package func problems() async -> [String] { await Self.run(checks) }

    /// Reasons the process should be restarted; empty when live.
    package func livenessProblems() async -> [String] { await Self.run(livenessChecks) }

    /// The checks at once, not one after another: with a cluster down, each check asking it
    /// waits up to its timeout (5–10 s), and a pass took their sum.
    private static func run(_ checks: [@Sendable () async -> String?]) async -> [String] {
        await withTaskGroup(of: (Int, String?).self) { group in
            for (index, check) in checks.enumerated() { group.addTask { (index, await check()) } }
            var found: [(Int, String)] = []
            for await (index, problem) in group { if let problem { found.append((index, problem)) } }
            return found.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }
}
