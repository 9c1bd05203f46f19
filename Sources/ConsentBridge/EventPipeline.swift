import ConsentContracts
package import ConsentKafka
package import ConsentPolicy
package import ConsentResilience
import ConsentSinks
package import ConsentStorage
import Foundation
package import Logging
import ServiceLifecycle

/// Consumes one side's outbound topic and, batch by batch: waits for the consent gate,
/// decides every event, and records decisions, disclosures, outbox rows, rejections and the
/// new offsets in one bridge-store transaction. Offsets live in the bridge store.
package struct EventPipeline: Service {
    /// The side whose outbound topic this pipeline consumes.
    package let origin: BridgeSide
    /// The consumer of `origin`'s outbound topic.
    package let consumer: KafkaConsumer
    /// The group the positions are stored under in the bridge store (not the Kafka group).
    package let consumerGroup: String
    /// Waited on before every batch is decided (R5).
    package let gate: ConsentGate
    /// Asked before every batch is decided: `consumer`'s cluster is still the one its positions
    /// were read from (with the gate's own confirmation of the consent cluster).
    package let sourceCluster: KafkaClusterConfirmation
    /// Decides each batch and builds its rows (no Kafka, no store).
    package let decider: EventDecider
    /// Records each batch, with its offsets, in one transaction.
    package let store: BridgeStore
    /// Receives each recorded batch's outbox rows, for the relay.
    package let handoff: OutboxHandoff
    /// Back-off for infrastructure errors: a batch is retried, never skipped.
    package let retry: RetryPolicy
    /// Gets one content-free line per decision.
    package let logger: Logger
    /// Decision counts, decision latency and stage times.
    package let metrics: BridgeMetrics

    /// A pipeline; nothing is consumed until `run`.
    package init(
        origin: BridgeSide, consumer: KafkaConsumer, consumerGroup: String, gate: ConsentGate,
        sourceCluster: KafkaClusterConfirmation, catalog: PolicyCatalog, builder: BridgeRecordBuilder,
        store: BridgeStore, handoff: OutboxHandoff, retry: RetryPolicy, logger: Logger, metrics: BridgeMetrics,
        agreements: IPSAgreementRegistry
    ) {
        self.origin = origin
        self.consumer = consumer
        self.consumerGroup = consumerGroup
        self.gate = gate
        self.sourceCluster = sourceCluster
        self.decider = EventDecider(
            origin: origin, consent: gate.keeper, catalog: catalog, builder: builder, agreements: agreements,
            metrics: metrics, logger: logger)
        self.store = store
        self.handoff = handoff
        self.retry = retry
        self.logger = logger
        self.metrics = metrics
    }

    /// Stored positions for a newly assigned partition set (the consumer's `startingOffsets`),
    /// on the cluster they were read from (a replaced cluster stops the pipeline).
    package static func startingOffsets(store: BridgeStore, group: String) -> KafkaConsumerConfiguration.StartingOffsets
    {
        KafkaConsumerConfiguration.storedPositions(in: store.database, of: .bridge, consumerGroup: group)
    }

    /// Starts the consumer (joins the group), then decides and records batch by batch until
    /// graceful shutdown, then closes the consumer. Throws what retrying cannot clear (a fatal
    /// Kafka error, a defect).
    package func run() async throws {
        do {
            try consumer.start()
            // Deciding runs on a thread of its own: a batch is 15-30 ms of CPU with no suspension
            // point, and on Swift's pool (two threads here) it held one thread that long, so the
            // relay, the consumers' hand-overs and every other task shared the other. 10 interleaved
            // pairs of `bench bridge`: 16.8k and 17.2k against 15.6k and 16.0k events/s (medians).
            let decidingThread = ExecutorThread(name: "decide-\(origin.rawValue)")
            defer { decidingThread.stop() }
            try await withTaskExecutorPreference(decidingThread) {
                try await cancelWhenGracefulShutdown {
                    // Two stages: while one batch is being recorded, the next is fetched, gated and
                    // decided. Batches are recorded strictly in order (one recording at a time).
                    // The recording task runs on the store's thread from start to end: on the pool
                    // its start and its return after the commit each waited for a thread, ~4 ms per
                    // batch, and the next batch's recording waited behind that.
                    try await withThrowingTaskGroup(of: Void.self) { recording in
                        for try await batch in consumer.batches {
                            let decided = try await decide(batch)
                            try await recording.next()
                            recording.addTask(executorPreference: store.database.taskExecutor) {
                                let recorded = try await record(decided, of: batch)
                                // The decision lines, once recorded, on the deciding thread (off
                                // the store's): at once when it waits, else when it next waits
                                // for this recording anyway.
                                if !recorded.lines.isEmpty {
                                    await withTaskExecutorPreference(decidingThread) { log(recorded) }
                                }
                            }
                        }
                        try await recording.waitForAll()
                    }
                }
            }
        } catch is CancellationError where !Task.isCancelled {
            // A graceful shutdown cancelled the batch in hand (gated, decided or being recorded;
            // one not recorded is consumed again after the restart). That is this service's
            // normal end: thrown, it made the service group cancel every other service, the
            // relay's drain of what the pipelines recorded among them.
            await consumer.close()
            return
        } catch {
            // The service group stops the process on this error; say why where operators look
            // (errors hold codes and fixed texts, never content). Nothing is lost: the batch was
            // not recorded, so its offsets were not either.
            if !(error is CancellationError) {
                logger.critical(
                    "Pipeline stopped: the process stops so that it can be restarted",
                    metadata: ["bridge.side": "\(origin.rawValue)", "error": "\(error)"])
            }
            await consumer.close()
            throw error
        }
        await consumer.close()
    }

    /// Decides and records one batch; infrastructure errors are retried, never skipped.
    package func process(_ batch: [KafkaRecord]) async throws {
        log(try await record(try await decide(batch), of: batch))
    }

    /// A batch decided and encoded, with its decisions by kind (counted once recorded) and
    /// their log lines (written once recorded).
    private struct PreparedDecisions: Sendable {
        let prepared: PreparedBridgeBatch
        let tally: DecisionTally
        let lines: [EventDecider.DecisionLine]
    }

    /// A recorded batch's decision lines, and the positions whose events were not recorded as
    /// decided then (skipped as already recorded, or recorded under an alternative id).
    private struct RecordedDecisions: Sendable {
        let lines: [EventDecider.DecisionLine]
        let excluded: Set<Int>
    }

    /// Writes a recorded batch's decision lines.
    private func log(_ recorded: RecordedDecisions) {
        decider.logRecorded(recorded.lines, excluding: recorded.excluded)
    }

    /// Waits for the consent gate, then decides every event of the batch and encodes its rows.
    /// Before deciding, both clusters are confirmed to be the ones the positions were read from,
    /// by questions asked after the batch was fetched and the view caught up (a replaced one
    /// stops the pipeline: see `KafkaClusterConfirmation`).
    private func decide(_ batch: [KafkaRecord]) async throws -> PreparedDecisions {
        let fetched = ContinuousClock.now
        try await metrics.timed(.gate, items: batch.count) {
            try await retry.run("consent gate", logger: logger) {
                try await gate.waitUntilCurrent()
                try await sourceCluster(askedAtOrAfter: fetched)
            }
        }
        let started = ContinuousClock.now
        let decided = try decider.decide(batch, consumerGroup: consumerGroup, now: Date())
        // Encoding the rows here keeps it off the store connection (it overlaps the previous
        // batch's transaction). A batch that cannot be encoded is a defect, not an outage: it
        // stops the pipeline instead of being retried.
        let prepared = try store.prepare(decided.batch, alternative: decided.alternative)
        metrics.recordStage(.decide, items: batch.count, duration: ContinuousClock.now - started)
        return PreparedDecisions(prepared: prepared, tally: decided.tally, lines: decided.lines)
    }

    /// Records a decided batch in one transaction, hands its outbox rows to the relay, and
    /// counts its decisions as recorded: an event skipped as already recorded is not counted
    /// as decided again (`consent_bridge_duplicate_events_total` counts it), and one recorded
    /// under its alternative id is counted as it was decided then. `batch`: the consumed
    /// records, in the batch's order.
    ///
    /// This runs on the store's thread, so it does per batch what the common case needs (a
    /// counter per kind of decision, not per event); only skipped or re-identified events,
    /// rare, get a line each.
    private func record(_ decided: PreparedDecisions, of batch: [KafkaRecord]) async throws -> RecordedDecisions {
        let prepared = decided.prepared
        let recorded = try await metrics.timed(.record, items: prepared.count) {
            try await retry.run("record batch", logger: logger) { try await store.record(prepared) }
        }
        handoff.hand(recorded.outbox)
        let now = Date()
        let direction = self.decider.direction
        if recorded.skippedPositions.isEmpty, recorded.alternates.isEmpty {
            metrics.recordDecisions(decided.tally)
            for case let time? in batch.lazy.map(\.timestamp) {
                metrics.recordDecisionLatency(.seconds(max(0, now.timeIntervalSince(time))))
            }
            return RecordedDecisions(lines: decided.lines, excluded: [])
        }
        // Positions not recorded as decided here: skipped, or recorded under an alternative id.
        let notDecidedHere = recorded.skippedPositions + recorded.alternates.map(\.position)
        metrics.recordDecisions(decided.tally, excluding: notDecidedHere)
        for alternate in recorded.alternates {
            let labels = decider.labels(of: alternate.recordedAs)
            metrics.recordDecision(code: labels.code, direction: labels.direction, knownType: labels.knownType)
            let record = batch[alternate.position]
            logger.notice(
                "Recorded under its alternative id: another topic's event holds its id",
                metadata: [
                    "event.id": "\(alternate.messageID)", "event.recorded-id": "\(alternate.recordedAs.messageID)",
                    "event.direction": "\(direction)", "kafka.topic": "\(record.topic)",
                    "kafka.partition": "\(record.partition)", "kafka.offset": "\(record.offset)",
                    "decision.outcome": "\(alternate.recordedAs.outcome.rawValue)", "decision.code": "\(labels.code)",
                ])
        }
        metrics.recordReusedEventIDs(recorded.alternates.count, direction: direction)
        metrics.recordDuplicateEvents(recorded.skippedPositions.count, direction: direction)
        if !recorded.skippedPositions.isEmpty {
            logger.notice(
                "Skipped events already recorded (the same event again on its topic)",
                metadata: ["bridge.side": "\(origin.rawValue)", "event.count": "\(recorded.skippedPositions.count)"])
        }
        for (position, messageID) in zip(recorded.skippedPositions, recorded.duplicateMessageIDs) {
            let record = batch[position]
            logger.debug(
                "Skipped: already recorded",
                metadata: [
                    "event.id": "\(messageID)", "event.direction": "\(direction)", "kafka.topic": "\(record.topic)",
                    "kafka.partition": "\(record.partition)", "kafka.offset": "\(record.offset)",
                ])
        }
        let skipped = Set(recorded.skippedPositions)
        for (position, record) in batch.enumerated() where !skipped.contains(position) {
            guard let time = record.timestamp else { continue }
            metrics.recordDecisionLatency(.seconds(max(0, now.timeIntervalSince(time))))
        }
        return RecordedDecisions(lines: decided.lines, excluded: Set(notDecidedHere))
    }
}
