package import ConsentConfiguration
import ConsentContracts
import ConsentKafka
package import ConsentPolicy
package import ConsentStorage
package import Foundation
package import Logging

/// Re-evaluates a rejected message against the *current* consent: the operator's redrive.
///
/// Only rejections a consent change can lift are decided again (`RejectReason.consentDependentCodes`);
/// an envelope, contract or content fault stays rejected without the payload ever being opened.
/// The sealed payload is opened with the origin side's key only inside this call, decided with
/// the same engine and the same gate as live traffic (the consent view must be current), and
/// if it now may cross it is recorded (disclosures, outbox rows, a `redrives` row) in one
/// transaction and handed to the relay, which re-checks consent again before publishing.
/// A message is let through by a redrive at most once.
package struct RejectionRedrive: Sendable {
    /// What a redrive did. Carries codes only, never content, so it is safe to show an operator.
    package enum Outcome: Sendable, Equatable, CustomStringConvertible {
        /// The current consent lets it through as it is (in-scope fields only).
        case forwarded
        /// It now crosses in anonymous form.
        case anonymized
        /// The current consent still refuses it (with the new reason).
        case stillRejected(reasonCode: String)
        /// Rejected for a reason consent cannot change; it was not decided again.
        case notRedrivable(reasonCode: String)
        /// A referral: a health professional's act, sent anew by the clinician once there is
        /// consent, never re-sent by an operator (R7).
        case sendAnew
        /// Its sealed payload's retention ended (`rejections.sealed-payload-retention-hours`):
        /// there is nothing left to decide again; the sender sends it anew if it is still wanted.
        case expired
        /// An earlier redrive already let it through.
        case alreadyRedriven
        /// No rejection has that message id.
        case notFound

        /// Short text for the operator: the outcome and any reason code.
        package var description: String {
            switch self {
            case .forwarded: "forwarded"
            case .anonymized: "anonymized"
            case .stillRejected(let code): "still-rejected (\(code))"
            case .notRedrivable(let code): "not-redrivable (\(code))"
            case .sendAnew: "not-redrivable: send anew (R7: a referral is sent again by the clinician)"
            case .expired: "expired (its sealed copy was erased at the end of its retention)"
            case .alreadyRedriven: "already-redriven"
            case .notFound: "not-found"
            }
        }
    }

    /// Holds the rejection and records a redrive's rows.
    package let store: BridgeStore
    /// The same consent gate as live traffic: a redrive decides only with a current view.
    package let gate: ConsentGate
    /// The contracts the message is decided with again (and which say what is a referral).
    package let catalog: PolicyCatalog
    /// Builds the new records; its sealer opens the rejected payload.
    package let builder: BridgeRecordBuilder
    /// Topic names, to find the origin side from the message's source topic.
    package let topics: TopicNames
    /// Hands a redrive's outbox rows to the relay.
    package let handoff: OutboxHandoff
    /// Logs outcomes and reason codes only.
    package let logger: Logger
    /// How long a rejection's sealed payload is kept; an older one is not opened even if
    /// `SealedPayloadRetention` has not erased it yet (`hasExpired`), so the answer does not
    /// depend on when that last ran.
    package var payloadRetention: Duration

    /// A redrive over the bridge's store, gate, contracts and relay handoff.
    package init(
        store: BridgeStore, gate: ConsentGate, catalog: PolicyCatalog, builder: BridgeRecordBuilder, topics: TopicNames,
        handoff: OutboxHandoff, logger: Logger, payloadRetention: Duration
    ) {
        self.store = store
        self.gate = gate
        self.catalog = catalog
        self.builder = builder
        self.topics = topics
        self.handoff = handoff
        self.logger = logger
        self.payloadRetention = payloadRetention
    }

    /// Whether deciding a rejection with this reason and type again could let it through:
    /// only for reasons a consent change can lift, and never for a referral (R7: the
    /// clinician sends it anew).
    package func isRedrivable(reasonCode: String, ceType: String?) -> Bool {
        guard Self.isRedrivable(reasonCode: reasonCode), let ceType else { return false }
        return catalog.plan(forCEType: ceType)?.isReferral != true
    }

    /// Whether a rejection's sealed payload has expired: erased at the end of its retention
    /// (`erasedAt`), or received at `receivedAt` longer ago than the retention, erased or not.
    package func hasExpired(receivedAt: Date, erasedAt: Date?, now: Date = Date()) -> Bool {
        erasedAt != nil || now.timeIntervalSince(receivedAt) >= payloadRetention.inSeconds
    }

    /// Whether a rejection with this reason could ever be let through by a redrive.
    package static func isRedrivable(reasonCode: String) -> Bool {
        RejectReason.consentDependentCodes.contains(reasonCode)
            && reasonCode != RejectReason.referralRequiresConsent.code
    }

    /// Decides the rejected message `messageID` again. Throws on infrastructure errors (store,
    /// broker, a lagging consent view) and when the sealed payload cannot be opened (wrong or
    /// rotated-out key): never a silent "still rejected".
    package func redrive(messageID: String) async throws -> Outcome {
        guard let stored = try await store.storedRejection(messageID: messageID) else { return .notFound }
        if stored.redrivenOutcome != nil { return .alreadyRedriven }
        let rejection = stored.rejection
        guard RejectReason.consentDependentCodes.contains(rejection.reasonCode), let ceType = rejection.ceType else {
            return .notRedrivable(reasonCode: rejection.reasonCode)
        }
        if catalog.plan(forCEType: ceType)?.isReferral == true { return .sendAnew }
        if hasExpired(receivedAt: rejection.receivedAt, erasedAt: stored.sealedPayloadErasedAt) { return .expired }
        guard let sealed = rejection.sealedPayload, let keyID = rejection.sealingKeyID else {
            return .notRedrivable(reasonCode: rejection.reasonCode)
        }
        let decision = stored.decision
        let origin = topics.side(of: decision.sourceTopic)
        let payload = try builder.sealer.open(
            sealed, keyID: keyID, for: origin,
            associatedData: BridgeRecordBuilder.sealingContext(
                messageID: messageID, topic: decision.sourceTopic, partition: decision.partition,
                offset: decision.offset))

        // The same rule as live traffic: decide only with a view that has read every consent
        // change appended before now.
        try await gate.waitUntilCurrent()
        // The envelope passed its checks the first time (only consent reasons get here), so
        // it is rebuilt from what was recorded.
        var headers = [
            KafkaHeader(name: BridgeHeaders.id, string: messageID),
            KafkaHeader(name: BridgeHeaders.type, string: ceType),
            KafkaHeader(name: BridgeHeaders.specVersion, string: "1.0"),
            KafkaHeader(name: BridgeHeaders.contentType, string: "application/json"),
        ]
        if let source = rejection.ceSource { headers.append(KafkaHeader(name: BridgeHeaders.source, string: source)) }
        if let time = rejection.ceTime { headers.append(KafkaHeader(name: BridgeHeaders.time, string: time)) }
        let record = KafkaRecord(
            topic: decision.sourceTopic, partition: decision.partition, offset: decision.offset, key: nil,
            value: payload,
            headers: headers, timestamp: nil)
        let now = Date()
        let envelope = CloudEventHeaders(kafkaHeaders: headers.map { (name: $0.name, value: $0.value ?? []) })
        let event = PolicyEvent(headers: envelope, body: payload, sourceTopic: decision.sourceTopic)
        let policyDecision = PolicyEngine.decide(
            event: event, consent: gate.keeper, contracts: catalog, now: Timestamp(date: now),
            caseReference: CaseReference.random())
        if let reason = policyDecision.rejectReason {
            logger.notice("Redrive: still rejected", metadata: ["bridge.reason": "\(reason.code)"])
            return .stillRejected(reasonCode: reason.code)
        }
        // Under the id it was recorded under (which may be an alternative id, not its `ce_id`).
        let message = try builder.build(
            record: record, headers: envelope, origin: origin, decision: policyDecision, now: now, isRedrive: true,
            messageID: messageID)
        guard let rows = try await store.recordRedrive(message) else { return .alreadyRedriven }
        handoff.hand(rows)
        let outcome: Outcome = message.decision.outcome == .forwardAnonymous ? .anonymized : .forwarded
        logger.notice("Redrive: let through", metadata: ["bridge.outcome": "\(outcome)"])
        return outcome
    }
}
