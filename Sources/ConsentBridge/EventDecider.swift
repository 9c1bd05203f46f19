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

    /// Decides every event of `batch` in order, at `now`; the offsets after each partition's
    /// last record are recorded under `consumerGroup`. Throws only what `BridgeRecordBuilder.build`
    /// throws (a defect or a missing sealing key), never for an event's content.
    package func decide(_ batch: [KafkaRecord], consumerGroup: String, now: Date) throws -> BridgeBatch {
        let timestamp = Timestamp(date: now)
        // One reading of the registry for the whole batch, as one reading of the view (the gate).
        let agreements = self.agreements.current
        var messages: [BridgeMessageRecord] = []
        messages.reserveCapacity(batch.count)
        var offsets: [KafkaTopicPartition: Int64] = [:]
        for record in batch {
            messages.append(try decide(record, agreements: agreements, now: now, timestamp: timestamp))
            offsets[record.topicPartition] = max(offsets[record.topicPartition] ?? 0, record.offset + 1)
        }
        return BridgeBatch(
            messages: messages,
            offsets: offsets.map {
                ConsumerOffset(
                    consumerGroup: consumerGroup, topic: $0.key.topic, partition: $0.key.partition, nextOffset: $0.value
                )
            })
    }

    private func decide(_ record: KafkaRecord, agreements: IPSAgreements?, now: Date, timestamp: Timestamp) throws
        -> BridgeMessageRecord
    {
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
            decision = decision.requiringIPSAgreement(agreements, on: timestamp.utcDate)
        }
        let built = try builder.build(record: record, headers: headers, origin: origin, decision: decision, now: now)
        let code = built.decision.reasonCode ?? decision.code
        let knownType = plan == nil ? nil : headers.type
        metrics.recordDecision(code: code, direction: direction, knownType: knownType)
        // One content-free line per decision: the sender's id (checked: no identifier in
        // it) or the record's position, a known type, the outcome and the reason code.
        logger.info(
            "Decided",
            metadata: [
                "event.id": "\(built.decision.messageID)", "event.type": "\(knownType ?? "unknown")",
                "event.direction": "\(direction)", "decision.outcome": "\(built.decision.outcome.rawValue)",
                "decision.code": "\(code)",
            ])
        return built
    }

    /// The `direction` label of this side's events.
    private var direction: String { origin == .health ? "health-to-nav" : "nav-to-health" }
}
