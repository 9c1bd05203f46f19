package import ConsentConfiguration
package import ConsentContracts
package import ConsentKafka
package import ConsentPolicy
package import ConsentStorage
package import Foundation
import W3CTraceContext

/// Turns one consumed event and its policy decision into what the bridge records in one
/// transaction: the decision, disclosure rows, outbox rows (forwarded event, receipt,
/// disclosure log entry, rejection notice) and the rejection with its sealed payload.
///
/// Outbox payloads are built from the decision's allow-listed output only; a rejected
/// payload is stored and published only sealed with the origin side's key.
package struct BridgeRecordBuilder: Sendable {
    /// Where receipts, disclosure notices and rejection notices go.
    package let topics: TopicLayout
    /// The contracts every output is checked against; its version is recorded as provenance.
    package let catalog: PolicyCatalog
    /// Seals rejected payloads, and digests unknown `ce_type`s, with the origin side's key.
    package let sealer: PayloadSealer
    /// Recorded on disclosures and in the `cb_bridge_version` header.
    package let bridgeVersion: String
    /// The headers whose values never change, built once (each header value is an array of
    /// its own: these were a dozen allocations per event).
    private let fixedHeaders: FixedHeaders
    /// The disclosure notice's and the receipt's contract checks, member by member (no tree
    /// built per record); nil when their schema needs the tree (`OutputContractCheck`).
    private let noticeCheck: OutputContractCheck<DisclosureNotice>?
    private let receiptCheck: OutputContractCheck<BridgeReceipt>?

    private struct FixedHeaders: Sendable {
        let source = MessageHeader(name: BridgeHeaders.source, text: BridgeHeaders.bridgeSource)
        let specVersion = MessageHeader(name: BridgeHeaders.specVersion, text: "1.0")
        let contentType = MessageHeader(name: BridgeHeaders.contentType, text: "application/json")
        let policyVersion: MessageHeader
        let bridgeVersion: MessageHeader
    }

    /// The topic names the builder writes to.
    package struct TopicLayout: Sendable {
        /// The receipts topic read by the system that publishes on a source topic.
        package var receiptsFor: @Sendable (_ sourceTopic: String) -> String
        /// The disclosure log topic of the system that publishes on a source topic (what it
        /// disclosed to the other side).
        package var disclosuresFor: @Sendable (_ sourceTopic: String) -> String
        /// The rejection topic.
        package var rejected: String

        /// The layout of `names`: each system's receipts and disclosure log topics, found by
        /// its outbound topic, and the rejection topic.
        package init(_ names: TopicNames) {
            self.receiptsFor = { names.receipts(forSource: $0) }
            self.disclosuresFor = { names.disclosures(forSource: $0) }
            self.rejected = names.rejected
        }
    }

    /// A builder writing to `topics`, checking outputs against `catalog`, sealing with `sealer`.
    package init(topics: TopicLayout, catalog: PolicyCatalog, sealer: PayloadSealer, bridgeVersion: String) {
        self.topics = topics
        self.catalog = catalog
        self.sealer = sealer
        self.bridgeVersion = bridgeVersion
        self.fixedHeaders = FixedHeaders(
            policyVersion: MessageHeader(name: BridgeHeaders.policyVersion, text: catalog.version),
            bridgeVersion: MessageHeader(name: BridgeHeaders.bridgeVersion, text: bridgeVersion))
        self.noticeCheck = catalog.plan(forCEType: DisclosureNotice.ceType).flatMap {
            OutputContractCheck($0.contract.schema)
        }
        self.receiptCheck = catalog.plan(forCEType: BridgeReceipt.ceType).flatMap {
            OutputContractCheck($0.contract.schema)
        }
    }

    /// The id the bridge records a message under: the sender's `ce_id` when the envelope
    /// passed its checks (a UUID, no personal identifier), otherwise the record's position.
    /// Whatever the sender put in a refused envelope never reaches a store or operator.
    ///
    /// Ids starting `kafka:` are the bridge's own (`positionID`, `alternativeMessageID`); no
    /// UUID starts so, so no sender can take the id another event is recorded under.
    package static func messageID(of record: KafkaRecord, headers: CloudEventHeaders, decision: PolicyDecision)
        -> String
    {
        if decision.rejectReason != .invalidEnvelope, let id = headers.id, CloudEventHeaders.isUUID(id) {
            return id
        }
        return positionID(of: record)
    }

    /// The prefix of the ids the bridge makes itself (never a sender's `ce_id`).
    static let bridgeIDPrefix = "kafka:"

    /// The id of a record's position: `kafka:<topic>:<partition>:<offset>`.
    package static func positionID(of record: KafkaRecord) -> String {
        "\(bridgeIDPrefix)\(record.topic):\(record.partition):\(record.offset)"
    }

    /// The id a message is recorded under when its `ce_id` is already recorded for an event of
    /// another topic (another system: CloudEvents identifies an event by source and id, so two
    /// systems may use the same id): `kafka:<topic>:id:<ce_id>`, which is the same for every
    /// copy of the event on its topic (a producer's retry, a redelivery: recorded once), and
    /// never another topic's. When that would be longer than an id may be (200 characters),
    /// the record's position (`positionID`).
    package static func alternativeMessageID(of record: KafkaRecord, messageID: String) -> String {
        if !messageID.hasPrefix(bridgeIDPrefix) {
            let byTopic = "\(bridgeIDPrefix)\(record.topic):id:\(messageID)"
            if byTopic.utf8.count <= CloudEventHeaders.maxTextLength { return byTopic }
        }
        return positionID(of: record)
    }

    /// The `ce_type` operators and receipts may see: a known contract's type as it is, anything
    /// else as `unknown-` and 8 hex digits of a keyed digest (the same string gives the same
    /// digest, so trends stay countable, but the sender's text is never repeated).
    package func operatorSafeType(_ ceType: String?, origin: BridgeSide) -> String? {
        guard let ceType, !ceType.isEmpty else { return nil }
        if catalog.plan(forCEType: ceType) != nil { return ceType }
        return unknownType(ceType, origin: origin)
    }

    /// `unknown-` and 8 hex digits of `text`'s keyed digest.
    private func unknownType(_ text: String, origin: BridgeSide) -> String {
        "unknown-" + sealer.digest(text, for: origin).prefix(8)
    }

    /// Builds the records for one decision. Throws only if sealing fails (no key: a
    /// configuration error, never a reason to store plaintext) or if even the rejection
    /// notice for an output that broke its contract breaks its own (a defect: the pipeline
    /// stops rather than record it).
    ///
    /// Every outgoing record is validated against its published contract before it is
    /// returned; a violation turns the decision into a rejection `output-contract-violation`
    /// (nothing crosses).
    ///
    /// For a redrive (`isRedrive`), the receipt gets its own id: the sender already holds a
    /// receipt with the message's first (rejecting) decision under the plain id.
    ///
    /// `messageID`: the id to record the message under, when not the one `messageID(of:)`
    /// gives (an alternative id, or a redriven message's recorded id); its receipt and
    /// notices carry it.
    package func build(
        record: KafkaRecord, headers: CloudEventHeaders, origin: BridgeSide, decision: PolicyDecision, now: Date,
        isRedrive: Bool = false, messageID: String? = nil
    ) throws -> BridgeMessageRecord {
        let messageID = messageID ?? Self.messageID(of: record, headers: headers, decision: decision)
        let built = try buildUnchecked(
            record: record, headers: headers, origin: origin, decision: decision, now: now, isRedrive: isRedrive,
            messageID: messageID)
        if built.outputsConform { return Self.carryingTrace(of: record, into: built.record) }
        let fallback = try buildUnchecked(
            record: record, headers: headers, origin: origin,
            decision: .reject(Rejection(reason: .outputContractViolation, consent: decision.consentUsed)), now: now,
            isRedrive: isRedrive, messageID: messageID)
        if !fallback.outputsConform { throw OutputContractError() }
        return Self.carryingTrace(of: record, into: fallback.record)
    }

    /// The W3C trace context of the event, carried to what the bridge emits for it: a child of
    /// the sender's span (same trace id, a new span id, the sender's flags), on identified
    /// copies, receipts, notices and rejection notices. Only a well-formed `traceparent` is
    /// read (hex digits), and only one whose digits hold no fødselsnummer or D-number: a
    /// sender's trace id is random, but a sender can write anything there (R16), and the other
    /// side would receive it. `tracestate` (vendor data) is dropped, and an anonymous copy never
    /// carries a trace, since the trace id would tie it to the sender's event about the person (R2).
    static func carryingTrace(of record: KafkaRecord, into message: BridgeMessageRecord) -> BridgeMessageRecord {
        guard let header = record.headers.first(where: { $0.name == BridgeHeaders.traceParent })?.value,
            case let text = String(decoding: header, as: UTF8.self),
            let parent = try? TraceContext(traceParentHeaderValue: text), !holdsNationalIdentifier(text)
        else { return message }
        let child = TraceContext(traceID: parent.traceID, spanID: .random(), flags: parent.flags, state: TraceState())
        let traceHeader = MessageHeader(name: BridgeHeaders.traceParent, text: child.traceParentHeaderValue)
        var message = message
        let anonymousCopy = message.decision.outcome == .forwardAnonymous
        // An anonymous decision's copy is its first outbox row (see `buildUnchecked`).
        for index in message.outbox.indices where !(anonymousCopy && index == 0) {
            message.outbox[index].headers.append(traceHeader)
        }
        return message
    }

    /// Whether eleven ASCII digits in a row anywhere in `text` form a fødselsnummer or a
    /// D-number (synthetic ones too). A random trace id has such a run about once in a few
    /// thousand, and then only its trace is lost, never the event. (Stricter than the envelope's
    /// check of `ce_id` and `ce_source`, `PolicyEngine.isFreeOfPersonalIdentifiers`, which reads
    /// whole digit groups so as not to reject events whose ids are long numbers.)
    static func holdsNationalIdentifier(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        var runStart = 0
        for end in 0...bytes.count {
            if end < bytes.count, bytes[end] >= UInt8(ascii: "0"), bytes[end] <= UInt8(ascii: "9") { continue }
            if end - runStart >= 11 {
                for start in runStart...(end - 11)
                where NorwegianIdentifier.isValid(
                    String(decoding: bytes[start..<start + 11], as: UTF8.self), allowSynthetic: true)
                {
                    return true
                }
            }
            runStart = end + 1
        }
        return false
    }

    /// Whether `value` meets the contract `type` names (false when it names none). Checked as
    /// built, before serialization (no parse back per row).
    private func conforms(_ value: JSONValue, type: String) -> Bool {
        guard let schema = catalog.plan(forCEType: type)?.contract.schema else { return false }
        return schema.isValid(value)
    }

    /// Whether a notice or receipt meets its contract: member by member with `check`, or as a
    /// tree when its schema needs one.
    private func conforms<Output: BridgeOutputMembers>(
        _ output: Output, type: String, check: OutputContractCheck<Output>?
    ) -> Bool {
        if let check { return check.conforms(output) }
        return conforms(output.jsonValue, type: type)
    }

    /// A record the bridge built broke its own contract and so did the notice saying so.
    package struct OutputContractError: Error, CustomStringConvertible {
        /// Fixed text: no content of the record.
        package var description: String { "a rejection notice failed its own contract (defect)" }
    }

    /// The records for one decision, and whether every outbox row met the contract its `ce_type`
    /// names.
    private func buildUnchecked(
        record: KafkaRecord, headers: CloudEventHeaders, origin: BridgeSide, decision: PolicyDecision, now: Date,
        isRedrive: Bool, messageID: String
    ) throws -> (record: BridgeMessageRecord, outputsConform: Bool) {
        var outputsConform = true
        let ceType = operatorSafeType(headers.type, origin: origin)
        // As stored (`StoreTime`): a receipt or notice built again from the store says the same.
        let decidedAt = StoreTime.string(from: now)
        let source = SourcePosition(topic: record.topic, partition: record.partition, offset: record.offset)
        // What the other side may learn about the EPJ consent (R15): nothing, on NAV's side.
        let consentVisible = origin != .nav
        var outbox: [OutboxRecord] = []
        var disclosures: [DisclosureRecord] = []
        var rejection: RejectionRecord? = nil
        let outcome: DecisionRecord.Outcome

        switch decision {
        case .forward(let event):
            outcome = .forward
            let contract = catalog.plan(forCEType: event.ceType)?.contract
            let direction = contract?.direction.rawValue ?? ""
            // One forwarded row and one disclosure notice per copy, each copy under an id of its
            // own: what crossed to each role's system is recorded apart (R4, R9).
            var copyIDs: [String] = []
            for copy in event.copies {
                // The id the copy carries is the bridge's, never the sender's (`ce_id` and `eventId`).
                let disclosureID = UUID.timeOrdered(at: now).lowercaseString
                copyIDs.append(disclosureID)
                let body = Self.replacingEventID(in: copy.body, with: disclosureID)
                let categories = Self.categoriesPresent(in: body, fields: contract?.fields ?? [])
                let disclosure = DisclosureRecord(
                    disclosureID: disclosureID, eventID: messageID, ceType: event.ceType,
                    direction: direction, subjectID: event.subject,
                    recipientRole: Self.recipientRole(of: copy.role, origin: origin),
                    recipientOrganisation: Self.organisation(of: origin.opposite),
                    categories: categories, form: "identified", consentID: event.consent.consentID,
                    consentVersion: event.consent.version, purpose: ConsentRecord.ipsPurpose, disclosedAt: now,
                    bridgeVersion: bridgeVersion)
                disclosures.append(disclosure)
                var forwardHeaders = cloudEventHeaders(
                    id: disclosureID, type: event.ceType, time: headers.time ?? decidedAt)
                forwardHeaders.append(fixedHeaders.policyVersion)
                forwardHeaders.append(fixedHeaders.bridgeVersion)
                if origin == .nav {
                    // Provenance for the journal; NAV-bound copies carry none of it (R15: the consent
                    // id, its version and how much was removed tell NAV about the EPJ consent).
                    forwardHeaders.append(MessageHeader(name: BridgeHeaders.consentID, text: event.consent.consentID))
                    forwardHeaders.append(
                        MessageHeader(name: BridgeHeaders.consentVersion, text: "\(event.consent.version)"))
                    forwardHeaders.append(
                        MessageHeader(name: BridgeHeaders.removedFieldCount, text: "\(copy.removed.count)"))
                }
                // The relay's re-check headers come last, the person first: once the copy is
                // settled the store cuts its stored headers off where the person starts
                // (`BridgeStore.eraseHandedOverContent`), keeping everything before.
                forwardHeaders.append(MessageHeader(name: BridgeHeaders.internalSubject, text: event.subject))
                forwardHeaders.append(
                    MessageHeader(name: BridgeHeaders.internalCategories, text: categories.joined(separator: ",")))
                forwardHeaders.append(MessageHeader(name: BridgeHeaders.internalDirection, text: direction))
                // The key names the person only when the output itself does (consent covers identity).
                let key = copy.publishKey ?? disclosureID
                outbox.append(
                    OutboxRecord(
                        topic: copy.destinationTopic, key: Array(key.utf8), headers: forwardHeaders,
                        payload: body.serializedBytes(),
                        disclosureID: disclosureID))
                outputsConform = outputsConform && conforms(body, type: event.ceType)
                // Built as the store builds it again from these rows (not stored, unless a redrive's).
                let notice = DerivedOutboxPayload.notice(
                    disclosure: disclosure, decidedAt: decidedAt, destinationTopic: copy.destinationTopic,
                    forwardBody: body, contractVersion: catalog.version, namesConsent: consentVisible)
                var noticeRow = disclosureNotice(
                    notice, origin: origin, sourceTopic: record.topic, follows: [disclosureID],
                    outputsConform: &outputsConform)
                if !isRedrive { noticeRow.derivation = consentVisible ? .notice : .noticeWithoutConsent }
                outbox.append(noticeRow)
            }
            // One receipt for the message: it names the first copy, and reports the event as
            // withheld only when every copy was (the relay's re-check, R5).
            var receiptRow = receipt(
                DerivedOutboxPayload.receipt(
                    messageID: messageID, firstCopyID: copyIDs.first, ceType: ceType, decidedAt: decidedAt,
                    contractVersion: catalog.version, source: source),
                origin: origin, sourceTopic: record.topic, isRedrive: isRedrive, follows: copyIDs,
                outputsConform: &outputsConform)
            // A redrive's decision row is the rejecting one: its receipt is stored as built.
            if !isRedrive, !copyIDs.isEmpty { receiptRow.derivation = .receipt }
            outbox.append(receiptRow)

        case .forwardAnonymous(let event):
            outcome = .forwardAnonymous
            let contract = catalog.plan(forCEType: event.ceType)?.contract
            let disclosureID = UUID.timeOrdered(at: now).lowercaseString
            let body = Self.replacingEventID(in: event.body, with: disclosureID)
            // What NAV sent went to the journal: its recipient is the treatment team (R4).
            let roles =
                origin == .nav ? [ContractVocabulary.healthRecipientRole] : contract?.recipientRoles ?? []
            let direction =
                origin == .health ? MessageDirection.healthToNav.rawValue : MessageDirection.navToHealth.rawValue
            disclosures.append(
                DisclosureRecord(
                    disclosureID: disclosureID, eventID: messageID, ceType: event.ceType,
                    direction: direction, subjectID: event.mapping.subject,
                    recipientRole: roles.joined(separator: ","),
                    recipientOrganisation: Self.organisation(of: origin.opposite),
                    categories: [], form: "anonymous", consentID: event.consent?.consentID,
                    consentVersion: event.consent?.version,
                    purpose: ConsentRecord.ipsPurpose, caseReference: event.caseReference.rawValue, disclosedAt: now,
                    bridgeVersion: bridgeVersion))
            var forwardHeaders = cloudEventHeaders(id: disclosureID, type: event.ceType, time: decidedAt)
            forwardHeaders.append(fixedHeaders.policyVersion)
            forwardHeaders.append(fixedHeaders.bridgeVersion)
            // No disclosureID on the row (nothing identifying crosses, R2), but the relay knows it
            // as a copy (by its `ce_id`, the disclosure id, on a recipient's topic): its size is
            // checked, and its notice and receipt follow it. The person goes with it as the
            // relay's internal header (never published), last, so that the relay withholds the
            // copy when a withdrawal has closed the anonymous path since the decision (R5); the
            // store erases the row once settled, key, payload and that header with them, so it
            // keeps no link between the case reference and the person (R2, R9).
            forwardHeaders.append(MessageHeader(name: BridgeHeaders.internalSubject, text: event.mapping.subject))
            outbox.append(
                OutboxRecord(
                    topic: event.destinationTopic, key: Array(event.publishKey.utf8), headers: forwardHeaders,
                    payload: body.serializedBytes(), isErasedOnceSettled: true))
            outputsConform = outputsConform && conforms(body, type: event.ceType)
            var notice = DisclosureNotice(
                disclosureID: disclosureID, messageID: messageID, ceType: event.ceType, direction: direction,
                subjectID: event.mapping.subject,
                consentID: consentVisible ? event.consent?.consentID : nil,
                consentVersion: consentVisible ? event.consent?.version : nil,
                recipientRoles: roles, categories: [], form: .anonymous, caseReference: event.caseReference.rawValue,
                disclosedFields: JSONPointer.leaves(of: body), status: .disclosed, decidedAt: decidedAt,
                destinationTopic: event.destinationTopic, contractVersion: catalog.version)
            // NAV reads what it sent, not that it crossed anonymously: that says the person has no
            // EPJ consent for it (R15).
            if !consentVisible { notice = notice.toldToNAV(sentType: ceType ?? event.ceType) }
            // The notice is the only row that ties the case reference to the person: the
            // sending side's journal keeps that link; the bridge store erases it once handed over.
            // Like an identified copy's, the notice and the receipt follow the copy: the relay
            // sends them once its delivery report is in, saying withheld if it never crossed (its
            // cluster refused it, or it was too large to send). Before, they went out at once, and
            // the journal recorded as disclosed an anonymous copy its recipient's cluster had
            // refused (R4).
            var anonymousNotice = disclosureNotice(
                notice, origin: origin, sourceTopic: record.topic, follows: [disclosureID],
                outputsConform: &outputsConform)
            anonymousNotice.isErasedOnceSettled = true
            outbox.append(anonymousNotice)
            outbox.append(
                receipt(
                    BridgeReceipt(
                        messageID: messageID, forwardedID: disclosureID, ceType: ceType, outcome: .anonymized,
                        reasonCode: "anonymized",
                        decidedAt: decidedAt, contractVersion: catalog.version, source: source),
                    origin: origin, sourceTopic: record.topic, isRedrive: isRedrive, follows: [disclosureID],
                    outputsConform: &outputsConform))

        case .reject(let reason):
            outcome = .reject
            // A too-large body is never opened, sealed or kept: the reason says it all.
            var sealed: (bytes: [UInt8], keyID: String)?
            if reason.reason != .tooLarge {
                let associated = Self.sealingContext(
                    messageID: messageID, topic: record.topic, partition: record.partition, offset: record.offset)
                let result = try sealer.seal(record.value ?? [], for: origin, associatedData: associated)
                sealed = (result.sealed, result.keyID)
            }
            let envelopeIsValid = reason.reason != .invalidEnvelope
            rejection = RejectionRecord(
                messageID: messageID, ceType: ceType, ceSource: envelopeIsValid ? headers.source : nil,
                reasonCode: reason.reason.code, sealedPayload: sealed?.bytes, sealingKeyID: sealed?.keyID,
                receivedAt: now,
                ceTime: envelopeIsValid ? headers.time : nil)
            outbox.append(
                receipt(
                    BridgeReceipt(
                        messageID: messageID, forwardedID: nil, ceType: ceType, outcome: .rejected,
                        reasonCode: reason.reason.code,
                        decidedAt: decidedAt, contractVersion: catalog.version, source: source),
                    origin: origin, sourceTopic: record.topic, isRedrive: false, follows: [],
                    outputsConform: &outputsConform))
            let plan = reason.contractName.flatMap { catalog.plan(named: $0) }
            let pointers = reason.violations.prefix(50).map { plan?.schemaPath(of: $0.pointer) ?? "/*" }
            var carried: RejectionNotice.SealedPayload?
            if let sealed {
                let ciphertext = Data(sealed.bytes).base64EncodedString()
                if ciphertext.utf8.count <= RejectionNotice.maxCiphertextLength {
                    carried = RejectionNotice.SealedPayload(keyID: sealed.keyID, ciphertext: ciphertext)
                }
            }
            let notice = RejectionNotice(
                // The notice names a type even when the event had none (missing, empty or given
                // twice): an unknown type's form, of the empty string. A bare "unknown" broke the
                // notice's own contract, and the pipeline stopped on it at every start.
                messageID: messageID, ceType: ceType ?? unknownType("", origin: origin), originSide: origin.rawValue,
                reasonCode: reason.reason.code,
                violationPointers: Self.uniqued(pointers), rejectedAt: decidedAt, source: source, sealedPayload: carried
            )
            let noticeValue = notice.jsonValue
            outbox.append(
                OutboxRecord(
                    topic: topics.rejected, key: Array(messageID.utf8),
                    headers: cloudEventHeaders(
                        id: "rejected:\(messageID)", type: RejectionNotice.ceType, time: decidedAt),
                    payload: noticeValue.serializedBytes()))
            outputsConform = outputsConform && conforms(noticeValue, type: RejectionNotice.ceType)
        }

        let consent = decision.consentUsed
        let decisionRecord = DecisionRecord(
            messageID: messageID, sourceTopic: record.topic, partition: record.partition, offset: record.offset,
            ceType: ceType,
            outcome: outcome, reasonCode: decision.rejectReason?.code, consentID: consent?.consentID,
            consentVersion: consent?.version,
            bridgeVersion: bridgeVersion, decidedAt: now)
        return (
            BridgeMessageRecord(
                decision: decisionRecord, disclosures: disclosures, outbox: outbox, rejection: rejection),
            outputsConform
        )
    }

    // MARK: Outbox payloads (each validated against its contract in Contracts/schemas)

    private func cloudEventHeaders(id: String, type: String, time: String) -> [MessageHeader] {
        var headers: [MessageHeader] = []
        // Room for what callers append (provenance, internal headers, the trace context).
        headers.reserveCapacity(Self.headerCapacity)
        headers.append(MessageHeader(name: BridgeHeaders.id, text: id))
        headers.append(MessageHeader(name: BridgeHeaders.type, text: type))
        headers.append(fixedHeaders.source)
        headers.append(MessageHeader(name: BridgeHeaders.time, text: time))
        headers.append(fixedHeaders.specVersion)
        headers.append(fixedHeaders.contentType)
        return headers
    }

    /// Most headers a record the bridge builds carries (a health-bound copy: six CloudEvents
    /// headers, five of provenance, three internal, the trace context).
    private static let headerCapacity = 16

    /// What NAV may learn from its receipt (R15): delivered or not, and the reason only when it
    /// follows from NAV's message alone. Whether the candidate crossed identified or anonymous,
    /// and every consent-dependent reason, would tell NAV about the person's EPJ consent.
    static func toldToNAV(_ receipt: BridgeReceipt) -> BridgeReceipt {
        var told = receipt
        switch receipt.outcome {
        case .accepted, .anonymized:
            told.outcome = .accepted
            told.reasonCode = BridgeReceipt.Outcome.accepted.rawValue
        case .rejected, .withheld:
            told.outcome = .rejected
            if !RejectReason.isDecidedBeforeConsent(code: receipt.reasonCode) {
                told.reasonCode = BridgeReceipt.notDelivered
            }
        }
        return told
    }

    /// `follows`: the copies (identified or anonymous) this row reports on; the relay sends it
    /// once their delivery reports are in, rewritten as withheld when none of them crossed.
    private func receipt(
        _ receipt: BridgeReceipt, origin: BridgeSide, sourceTopic: String, isRedrive: Bool, follows: [String],
        outputsConform: inout Bool
    ) -> OutboxRecord {
        let receipt = origin == .nav ? Self.toldToNAV(receipt) : receipt
        outputsConform = outputsConform && conforms(receipt, type: BridgeReceipt.ceType, check: receiptCheck)
        let receiptID = isRedrive ? "receipt:\(receipt.messageID):redrive" : "receipt:\(receipt.messageID)"
        var headers = cloudEventHeaders(id: receiptID, type: BridgeReceipt.ceType, time: receipt.decidedAt)
        if !follows.isEmpty {
            headers.append(MessageHeader(name: BridgeHeaders.internalFollows, text: follows.joined(separator: ",")))
        }
        return OutboxRecord(
            topic: topics.receiptsFor(sourceTopic), key: Array(receipt.messageID.utf8), headers: headers,
            payload: receipt.serializedBytes())
    }

    private func disclosureNotice(
        _ notice: DisclosureNotice, origin: BridgeSide, sourceTopic: String, follows: [String],
        outputsConform: inout Bool
    ) -> OutboxRecord {
        outputsConform = outputsConform && conforms(notice, type: DisclosureNotice.ceType, check: noticeCheck)
        var headers = cloudEventHeaders(
            id: "disclosure:\(notice.disclosureID)", type: DisclosureNotice.ceType, time: notice.decidedAt)
        if !follows.isEmpty {
            headers.append(MessageHeader(name: BridgeHeaders.internalFollows, text: follows.joined(separator: ",")))
        }
        return OutboxRecord(
            topic: topics.disclosuresFor(sourceTopic), key: Array(notice.subjectID.utf8), headers: headers,
            payload: notice.serializedBytes())
    }

    /// `value` with its top-level `eventId` (if any) set to `id`.
    static func replacingEventID(in value: JSONValue, with id: String) -> JSONValue {
        guard case .object(var object) = value, object["eventId"] != nil else { return value }
        object["eventId"] = .string(id)
        return .object(object)
    }

    private static func uniqued(_ values: [String]) -> [String] {
        var seen = Set<String>()
        return values.filter { seen.insert($0).inserted }
    }

    // MARK: Helpers

    /// The associated data a rejected payload is sealed with: it binds the ciphertext to its
    /// message and source position, so a sealed payload cannot be passed off as another's.
    package static func sealingContext(messageID: String, topic: String, partition: Int32, offset: Int64) -> String {
        "\(messageID)|\(topic)|\(partition)|\(offset)"
    }

    private static func organisation(of side: BridgeSide) -> String {
        side == .nav ? "NAV" : "helsetjenesten"
    }

    /// The recipient role a disclosure records for a copy made for `role`: that NAV role for
    /// what the health side sent (the copy went to its own system, R9); for what NAV sent, the
    /// treatment team, whose journal received it. The copy's role is then the NAV role that
    /// sent it (the consent must name it): recorded as the recipient, the bridge's disclosure
    /// log and NAV's notices (so NAV's access report, R11) named the sender as who received
    /// its own information (found by an outside audit).
    static func recipientRole(of role: String, origin: BridgeSide) -> String {
        origin == .nav ? ContractVocabulary.healthRecipientRole : role
    }

    /// The consent categories of the fields present in `body` (what actually crossed).
    static func categoriesPresent(in body: JSONValue, fields: [FieldRule]) -> [String] {
        // A handful of categories at most: an array searched in place costs less than hashing
        // every field's category into a set (that hashing was most of this function's time).
        var categories: [String] = []
        for field in fields {
            guard let category = field.consentCategory, !categories.contains(category) else { continue }
            if exists(path: field.path[...], in: body) { categories.append(category) }
        }
        return categories.sorted()
    }

    private static func exists(path: ArraySlice<String>, in value: JSONValue) -> Bool {
        guard let first = path.first else { return true }
        switch value {
        case .object(let object):
            guard let child = object[first] else { return false }
            return exists(path: path.dropFirst(), in: child)
        case .array(let items) where first == "[]":
            return items.contains { exists(path: path.dropFirst(), in: $0) }
        default:
            return false
        }
    }
}

extension Timestamp {
    /// The timestamp of a Foundation date (millisecond precision).
    package init(date: Date) {
        self.init(millisecondsSinceEpoch: Int64((date.timeIntervalSince1970 * 1000).rounded(.down)))
    }
}
