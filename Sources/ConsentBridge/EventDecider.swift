import ConsentContracts
package import ConsentKafka
package import ConsentPolicy
package import ConsentStorage
package import Foundation
package import Logging

/// What a pipeline does with a batch between the consent gate and the store: decide every
/// event against the consent view and build what is recorded for it, with the batch's new
/// offsets. No Kafka and no store, so `bench decide` measures exactly this stage alone (the
/// stage every batch waits on).
package struct EventDecider: Sendable {
    /// The side whose events these are.
    package let origin: BridgeSide
    /// The consent view, current as of the gate.
    package let consent: ConsentViewKeeper
    /// The contracts events are decided with.
    package let catalog: PolicyCatalog
    /// Turns each decision into the rows recorded for it.
    package let builder: BridgeRecordBuilder
    /// The registry of IPS agreements (R14); while it cannot be read, no referral crosses.
    package let agreements: IPSAgreementRegistry
    /// Decision counts by outcome.
    package let metrics: BridgeMetrics
    /// Gets one content-free line per decision.
    package let logger: Logger

    /// A decider; it holds only shared, thread-safe parts.
    package init(
        origin: BridgeSide, consent: ConsentViewKeeper, catalog: PolicyCatalog, builder: BridgeRecordBuilder,
        agreements: IPSAgreementRegistry, metrics: BridgeMetrics, logger: Logger
    ) {
        self.origin = origin
        self.consent = consent
        self.catalog = catalog
        self.builder = builder
        self.agreements = agreements
        self.metrics = metrics
        self.logger = logger
    }

    /// A decided batch: what is recorded, the decisions by kind (counted once recorded), and
    /// how to build a message again under its alternative id (`BridgeStore.record`).
    package struct DecidedBatch: Sendable {
        /// The batch's messages and offsets.
        package var batch: BridgeBatch
        /// The decisions by kind, for the metrics once the batch is recorded.
        var tally: DecisionTally
        /// Decides the message at a position again and builds it under its alternative id.
        package var alternative: BridgeStore.AlternativeRecord
        /// Each decision's log line, by position (none unless `info` lines are logged), written
        /// once the batch is recorded (`logRecorded`).
        var lines: [DecisionLine]
    }

    /// What one `Decided` line says: content-free.
    struct DecisionLine: Sendable {
        /// The sender's id (checked: no identifier in it) or the record's position.
        var messageID: String
        var knownType: String?
        var outcome: String
        var code: String
    }

    /// Writes one line per decision of a recorded batch, except for the positions `excluded`
    /// (events found already recorded, which were not recorded again, and events recorded under
    /// their alternative id, which get a line of their own). Written after the record, so a
    /// `Decided` line always names a decision the store holds: an event re-read after a crash
    /// or an adopted cluster was once logged as decided again although nothing crossed again.
    func logRecorded(_ lines: [DecisionLine], excluding excluded: Set<Int>) {
        for (position, line) in lines.enumerated() where !excluded.contains(position) {
            logger.info(
                "Decided",
                metadata: [
                    "event.id": "\(line.messageID)",
                    "event.type": "\(line.knownType ?? "unknown")",
                    "event.direction": "\(direction)",
                    "decision.outcome": "\(line.outcome)",
                    "decision.code": "\(line.code)",
                ])
        }
    }

    /// Decides every event of `batch` in order, at `now`; the offsets after each partition's
    /// last record are recorded under `consumerGroup`. Throws only what `BridgeRecordBuilder.build`
    /// throws (a defect or a missing sealing key), never for an event's content.
    ///
    /// The decisions are counted and logged once the batch is recorded (`EventPipeline`),
    /// since an event already recorded is skipped there.
    package func decide(_ batch: [KafkaRecord], consumerGroup: String, now: Date) throws -> DecidedBatch {
        let timestamp = Timestamp(date: now)
        // One reading of the registry for the whole batch, as one reading of the view (the gate).
        let agreements = self.agreements.current
        var messages: [BridgeMessageRecord] = []
        messages.reserveCapacity(batch.count)
        var tally = DecisionTally(capacity: batch.count)
        var offsets: [KafkaTopicPartition: Int64] = [:]
        let logsDecisions = logger.logLevel <= .info
        var lines: [DecisionLine] = []
        if logsDecisions { lines.reserveCapacity(batch.count) }
        for record in batch {
            let decided = try decide(record, agreements: agreements, now: now, timestamp: timestamp)
            tally.add(code: decided.code, direction: direction, knownType: decided.knownType)
            if logsDecisions {
                lines.append(
                    DecisionLine(
                        messageID: decided.message.decision.messageID, knownType: decided.knownType,
                        outcome: decided.message.decision.outcome.rawValue, code: decided.code))
            }
            messages.append(decided.message)
            offsets[record.topicPartition] = max(offsets[record.topicPartition] ?? 0, record.offset + 1)
        }
        // Rare: another topic's event holds a message's id. It is decided again when recorded,
        // with the view and the registry as they are then (never older than this batch's).
        let alternative: BridgeStore.AlternativeRecord = { position in
            let record = batch[position]
            return try self.decide(
                record, agreements: self.agreements.current, now: Date(), timestamp: Timestamp(date: Date()),
                alternativeID: true
            ).message
        }
        return DecidedBatch(
            batch: BridgeBatch(
                messages: messages,
                offsets: offsets.map {
                    ConsumerOffset(
                        consumerGroup: consumerGroup, topic: $0.key.topic, partition: $0.key.partition,
                        nextOffset: $0.value)
                }),
            tally: tally, alternative: alternative, lines: lines)
    }

    /// The metric labels of a recorded decision (one recorded under an alternative id).
    func labels(of decision: DecisionRecord) -> (code: String, direction: String, knownType: String?) {
        let code: String
        switch decision.outcome {
        case .forward: code = "accepted"
        case .forwardAnonymous: code = "anonymized"
        case .reject: code = decision.reasonCode ?? "unknown"
        }
        let knownType = decision.ceType.flatMap { catalog.plan(forCEType: $0) == nil ? nil : $0 }
        return (code, direction, knownType)
    }

    /// Decides one event and builds its records (under its alternative id when `alternativeID`),
    /// with its final code and known type.
    private func decide(
        _ record: KafkaRecord, agreements: IPSAgreements?, now: Date, timestamp: Timestamp, alternativeID: Bool = false
    ) throws -> (message: BridgeMessageRecord, code: String, knownType: String?) {
        // The envelope is read once, here; the policy and the record builder share it.
        var envelope = CloudEventHeaders.Reader()
        for header in record.headers { envelope.read(name: header.name, value: header.value ?? []) }
        let headers = envelope.headers
        let event = PolicyEvent(headers: headers, body: record.value ?? [], sourceTopic: record.topic)
        var decision = PolicyEngine.decide(
            event: event, consent: consent, contracts: catalog, now: timestamp, caseReference: CaseReference.random())
        // R14: a referral crosses only from a team with an IPS agreement holding today.
        let plan = headers.type.flatMap { catalog.plan(forCEType: $0) }
        if plan?.isReferral == true {
            decision = decision.requiringIPSAgreement(agreements, at: timestamp)
        }
        var messageID: String?
        if alternativeID {
            messageID = BridgeRecordBuilder.alternativeMessageID(
                of: record,
                messageID: BridgeRecordBuilder.messageID(of: record, headers: headers, decision: decision))
        }
        let built = try builder.build(
            record: record, headers: headers, origin: origin, decision: decision, now: now, messageID: messageID)
        let code = built.decision.reasonCode ?? decision.code
        return (built, code, plan == nil ? nil : headers.type)
    }

    /// The `direction` label of this side's events.
    var direction: String { origin == .health ? "health-to-nav" : "nav-to-health" }
}
