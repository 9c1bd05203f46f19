import ConsentContracts
import ConsentKafka
import ConsentPolicy
import ConsentStorage
import Foundation

/// Turns one consumed event and its policy decision into what the bridge records in one
/// transaction: the decision, disclosure rows, outbox rows (forwarded event, receipt,
/// disclosure log entry, rejection notice) and the rejection with its sealed payload.
///
/// Outbox payloads are built from the decision's allow-listed output only; a rejected
/// payload is stored and published only sealed with the origin side's key.
package struct BridgeRecordBuilder: Sendable {
    package let topics: TopicLayout
    package let catalog: PolicyCatalog
    package let sealer: PayloadSealer
    package let bridgeVersion: String

    /// The topic names the builder writes to.
    package struct TopicLayout: Sendable {
        package var receiptsOf: @Sendable (BridgeSide) -> String
        package var disclosuresOf: @Sendable (BridgeSide) -> String
        package var rejected: String

        package init(
            receiptsOf: @escaping @Sendable (BridgeSide) -> String,
            disclosuresOf: @escaping @Sendable (BridgeSide) -> String, rejected: String
        ) {
            self.receiptsOf = receiptsOf
            self.disclosuresOf = disclosuresOf
            self.rejected = rejected
        }
    }

    package init(topics: TopicLayout, catalog: PolicyCatalog, sealer: PayloadSealer, bridgeVersion: String) {
        self.topics = topics
        self.catalog = catalog
        self.sealer = sealer
        self.bridgeVersion = bridgeVersion
    }

    /// The id the bridge de-duplicates by: `ce_id`, or the record's position when it has none.
    package static func messageID(of record: KafkaRecord) -> String {
        if let id = record.headers.string(named: BridgeHeaders.id), !id.isEmpty, id.utf8.count <= 200 { return id }
        return "kafka:\(record.topic)/\(record.partition)/\(record.offset)"
    }

    /// Builds the records for one decision. Throws only if sealing fails (no key: a
    /// configuration error, never a reason to store plaintext).
    ///
    /// For a redrive (`isRedrive`), the receipt gets its own id: the sender already holds a
    /// receipt with the message's first (rejecting) decision under the plain id.
    package func build(record: KafkaRecord, origin: BridgeSide, decision: PolicyDecision, now: Date, isRedrive: Bool = false) throws -> BridgeMessageRecord {
        let messageID = Self.messageID(of: record)
        let ceType = record.headers.string(named: BridgeHeaders.type)
        let decidedAt = Timestamp(date: now).description
        let source: JSONValue = .object(JSONObject(uniqueMembers: [
            .init(key: "topic", value: .string(record.topic)),
            .init(key: "partition", value: .integer(Int64(record.partition))),
            .init(key: "offset", value: .integer(record.offset)),
        ]))
        var outbox: [OutboxRecord] = []
        var disclosures: [DisclosureRecord] = []
        var rejection: RejectionRecord? = nil
        let outcome: DecisionRecord.Outcome

        switch decision {
        case .forward(let event):
            outcome = .forward
            let plan = catalog.plan(forCEType: event.ceType)
            let contract = plan?.contract
            let disclosureID = UUID.random().lowercaseString
            let categories = Self.categoriesPresent(in: event.body, fields: contract?.fields ?? [])
            let roles = contract?.recipientRoles ?? []
            let consentCoversIdentity = categories.contains("identity-and-contact")
            disclosures.append(DisclosureRecord(
                disclosureID: disclosureID, eventID: messageID, ceType: event.ceType,
                direction: contract?.direction.rawValue ?? "", subjectID: event.subject,
                recipientRole: roles.joined(separator: ","), recipientOrganisation: Self.organisation(of: origin.opposite),
                categories: categories, form: "identified", consentID: event.consent.consentID,
                consentVersion: event.consent.version, purpose: ConsentRecord.ipsPurpose, disclosedAt: now, bridgeVersion: bridgeVersion))
            var headers = cloudEventHeaders(id: messageID, type: event.ceType, time: record.headers.string(named: BridgeHeaders.time) ?? decidedAt)
            headers += [
                MessageHeader(name: BridgeHeaders.consentID, text: event.consent.consentID),
                MessageHeader(name: BridgeHeaders.consentVersion, text: "\(event.consent.version)"),
                MessageHeader(name: BridgeHeaders.policyVersion, text: catalog.version),
                MessageHeader(name: BridgeHeaders.decisionID, text: disclosureID),
                MessageHeader(name: BridgeHeaders.removedFieldCount, text: "\(event.removed.count)"),
                MessageHeader(name: BridgeHeaders.bridgeVersion, text: bridgeVersion),
                MessageHeader(name: BridgeHeaders.internalSubject, text: event.subject),
                MessageHeader(name: BridgeHeaders.internalCategories, text: categories.joined(separator: ",")),
                MessageHeader(name: BridgeHeaders.internalDirection, text: contract?.direction.rawValue ?? ""),
            ]
            // The key names the person only when the consent covers identity.
            let key = consentCoversIdentity ? event.subject : disclosureID
            outbox.append(OutboxRecord(topic: event.destinationTopic, key: Array(key.utf8), headers: headers, payload: event.bytes, disclosureID: disclosureID))
            outbox.append(disclosureNotice(
                disclosureID: disclosureID, messageID: messageID, ceType: event.ceType, direction: contract?.direction.rawValue ?? "",
                subject: event.subject, consent: event.consent, roles: roles, form: "full",
                fields: Self.leafPointers(of: event.body), destination: event.destinationTopic, decidedAt: decidedAt, origin: origin))
            outbox.append(receipt(messageID: messageID, ceType: ceType, outcome: "accepted", reasonCode: "accepted", decidedAt: decidedAt, source: source, origin: origin, isRedrive: isRedrive))

        case .forwardAnonymous(let event):
            outcome = .forwardAnonymous
            let contract = catalog.plan(forCEType: event.ceType)?.contract
            let disclosureID = UUID.random().lowercaseString
            let roles = contract?.recipientRoles ?? []
            disclosures.append(DisclosureRecord(
                disclosureID: disclosureID, eventID: messageID, ceType: event.ceType,
                direction: contract?.direction.rawValue ?? "", subjectID: event.mapping.subject,
                recipientRole: roles.joined(separator: ","), recipientOrganisation: Self.organisation(of: origin.opposite),
                categories: [], form: "anonymous", consentID: event.consent?.consentID, consentVersion: event.consent?.version,
                purpose: ConsentRecord.ipsPurpose, caseReference: event.caseReference.rawValue, disclosedAt: now, bridgeVersion: bridgeVersion))
            var headers = cloudEventHeaders(id: messageID, type: event.ceType, time: decidedAt)
            headers += [
                MessageHeader(name: BridgeHeaders.policyVersion, text: catalog.version),
                MessageHeader(name: BridgeHeaders.decisionID, text: disclosureID),
                MessageHeader(name: BridgeHeaders.removedFieldCount, text: "\(event.removed.count + event.generalized.count)"),
                MessageHeader(name: BridgeHeaders.bridgeVersion, text: bridgeVersion),
            ]
            // No relay re-check (no disclosureID on the row): nothing identifying crosses.
            outbox.append(OutboxRecord(topic: event.destinationTopic, key: Array(event.caseReference.rawValue.utf8), headers: headers, payload: event.bytes))
            outbox.append(disclosureNotice(
                disclosureID: disclosureID, messageID: messageID, ceType: event.ceType, direction: contract?.direction.rawValue ?? "",
                subject: event.mapping.subject, consent: event.consent, roles: roles, form: "anonymous",
                fields: Self.leafPointers(of: event.body), destination: event.destinationTopic, decidedAt: decidedAt, origin: origin))
            outbox.append(receipt(messageID: messageID, ceType: ceType, outcome: "anonymized", reasonCode: "anonymized", decidedAt: decidedAt, source: source, origin: origin, isRedrive: isRedrive))

        case .reject(let reason):
            outcome = .reject
            let payload = record.value ?? []
            let associated = Self.sealingContext(messageID: messageID, topic: record.topic, partition: record.partition, offset: record.offset)
            let (sealed, keyID) = try sealer.seal(payload, for: origin, associatedData: associated)
            rejection = RejectionRecord(
                messageID: messageID, ceType: ceType, ceSource: record.headers.string(named: BridgeHeaders.source),
                reasonCode: reason.reason.code, sealedPayload: sealed, sealingKeyID: keyID, receivedAt: now,
                ceTime: record.headers.string(named: BridgeHeaders.time))
            outbox.append(receipt(messageID: messageID, ceType: ceType, outcome: "rejected", reasonCode: reason.reason.code, decidedAt: decidedAt, source: source, origin: origin))
            outbox.append(rejectionNotice(
                messageID: messageID, ceType: ceType, origin: origin, reasonCode: reason.reason.code,
                violationPointers: reason.violations.map(\.pointer), decidedAt: decidedAt, source: source, sealed: sealed, keyID: keyID))
        }

        let consent = decision.consentUsed
        let decisionRecord = DecisionRecord(
            messageID: messageID, sourceTopic: record.topic, partition: record.partition, offset: record.offset, ceType: ceType,
            outcome: outcome, reasonCode: decision.rejectReason?.code, consentID: consent?.consentID, consentVersion: consent?.version,
            bridgeVersion: bridgeVersion, decidedAt: now)
        return BridgeMessageRecord(decision: decisionRecord, disclosures: disclosures, outbox: outbox, rejection: rejection)
    }

    // MARK: Outbox payloads (each matches its contract in Contracts/schemas)

    private func cloudEventHeaders(id: String, type: String, time: String) -> [MessageHeader] {
        [
            MessageHeader(name: BridgeHeaders.id, text: id),
            MessageHeader(name: BridgeHeaders.type, text: type),
            MessageHeader(name: BridgeHeaders.source, text: BridgeHeaders.bridgeSource),
            MessageHeader(name: BridgeHeaders.time, text: time),
            MessageHeader(name: BridgeHeaders.specVersion, text: "1.0"),
            MessageHeader(name: BridgeHeaders.contentType, text: "application/json"),
        ]
    }

    private func receipt(
        messageID: String, ceType: String?, outcome: String, reasonCode: String, decidedAt: String, source: JSONValue, origin: BridgeSide,
        isRedrive: Bool = false
    ) -> OutboxRecord {
        var members: [JSONObject.Member] = [.init(key: "messageId", value: .string(messageID))]
        if let ceType, !ceType.isEmpty, ceType.utf8.count <= 200 { members.append(.init(key: "ceType", value: .string(ceType))) }
        members += [
            .init(key: "outcome", value: .string(outcome)),
            .init(key: "reasonCode", value: .string(reasonCode)),
            .init(key: "decidedAt", value: .string(decidedAt)),
            .init(key: "contractVersion", value: .string(catalog.version)),
            .init(key: "source", value: source),
        ]
        let receiptID = isRedrive ? "receipt:\(messageID):redrive" : "receipt:\(messageID)"
        return OutboxRecord(
            topic: topics.receiptsOf(origin), key: Array(messageID.utf8),
            headers: cloudEventHeaders(id: receiptID, type: "no.ips.bridge.receipt.v1", time: decidedAt),
            payload: JSONValue.object(JSONObject(uniqueMembers: members)).serializedBytes())
    }

    private func disclosureNotice(
        disclosureID: String, messageID: String, ceType: String, direction: String, subject: String, consent: ConsentReference?,
        roles: [String], form: String, fields: [String], destination: String, decidedAt: String, origin: BridgeSide
    ) -> OutboxRecord {
        var members: [JSONObject.Member] = [
            .init(key: "disclosureId", value: .string(disclosureID)),
            .init(key: "messageId", value: .string(messageID)),
            .init(key: "ceType", value: .string(ceType)),
            .init(key: "direction", value: .string(direction)),
            .init(key: "subjectId", value: .string(subject)),
        ]
        if let consent {
            members.append(.init(key: "consentId", value: .string(consent.consentID)))
            members.append(.init(key: "consentVersion", value: .integer(consent.version)))
        }
        members += [
            .init(key: "recipientRoles", value: .array(roles.map { .string($0) })),
            .init(key: "form", value: .string(form)),
            .init(key: "disclosedFields", value: .array(fields.map { .string($0) })),
            .init(key: "status", value: .string("disclosed")),
            .init(key: "decidedAt", value: .string(decidedAt)),
            .init(key: "destinationTopic", value: .string(destination)),
            .init(key: "contractVersion", value: .string(catalog.version)),
        ]
        return OutboxRecord(
            topic: topics.disclosuresOf(origin), key: Array(subject.utf8),
            headers: cloudEventHeaders(id: "disclosure:\(disclosureID)", type: "no.ips.bridge.disclosure.v1", time: decidedAt),
            payload: JSONValue.object(JSONObject(uniqueMembers: members)).serializedBytes())
    }

    private func rejectionNotice(
        messageID: String, ceType: String?, origin: BridgeSide, reasonCode: String, violationPointers: [String],
        decidedAt: String, source: JSONValue, sealed: [UInt8], keyID: String
    ) -> OutboxRecord {
        var members: [JSONObject.Member] = [
            .init(key: "messageId", value: .string(messageID)),
            .init(key: "ceType", value: .string((ceType?.isEmpty == false ? ceType : nil) ?? "unknown")),
            .init(key: "originSide", value: .string(origin.rawValue)),
            .init(key: "reasonCode", value: .string(reasonCode)),
        ]
        if !violationPointers.isEmpty {
            members.append(.init(key: "violationPointers", value: .array(violationPointers.prefix(50).map { .string($0) })))
        }
        members += [
            .init(key: "rejectedAt", value: .string(decidedAt)),
            .init(key: "source", value: source),
            .init(key: "sealedPayload", value: .object(JSONObject(uniqueMembers: [
                .init(key: "algorithm", value: .string("aes-256-gcm")),
                .init(key: "keyId", value: .string(keyID)),
                .init(key: "ciphertext", value: .string(Data(sealed).base64EncodedString())),
            ]))),
        ]
        return OutboxRecord(
            topic: topics.rejected, key: Array(messageID.utf8),
            headers: cloudEventHeaders(id: "rejected:\(messageID)", type: "no.ips.bridge.rejected.v1", time: decidedAt),
            payload: JSONValue.object(JSONObject(uniqueMembers: members)).serializedBytes())
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

    /// The consent categories of the fields present in `body` (what actually crossed).
    static func categoriesPresent(in body: JSONValue, fields: [FieldRule]) -> [String] {
        var categories = Set<String>()
        for field in fields {
            guard let category = field.consentCategory, !categories.contains(category) else { continue }
            if exists(path: field.path[...], in: body) { categories.insert(category) }
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

    /// JSON pointers of every leaf in `value` (array items collapse to `/-`-free indices).
    static func leafPointers(of value: JSONValue) -> [String] {
        var pointers: [String] = []
        var path: [UInt8] = []
        path.reserveCapacity(128)
        appendLeafPointers(of: value, path: &path, to: &pointers)
        return pointers
    }

    /// Appends the leaves below `value`, whose pointer is `path`; `path` is restored before
    /// returning (one growing buffer instead of a new prefix string per level and leaf).
    private static func appendLeafPointers(of value: JSONValue, path: inout [UInt8], to pointers: inout [String]) {
        let length = path.count
        switch value {
        case .object(let object):
            for member in object.members {
                path.append(UInt8(ascii: "/"))
                path.append(contentsOf: escape(member.key).utf8)
                appendLeafPointers(of: member.value, path: &path, to: &pointers)
                path.removeSubrange(length...)
            }
        case .array(let items):
            if items.isEmpty, length > 0 { pointers.append(String(decoding: path, as: UTF8.self)) }
            for (index, item) in items.enumerated() {
                path.append(UInt8(ascii: "/"))
                path.append(contentsOf: String(index).utf8)
                appendLeafPointers(of: item, path: &path, to: &pointers)
                path.removeSubrange(length...)
            }
        default:
            if length > 0 { pointers.append(String(decoding: path, as: UTF8.self)) }
        }
    }

    /// RFC 6901 escaping. Most keys need none, so they are returned as they are (Foundation's
    /// `replacingOccurrences` was a tenth of the hot path's CPU time on Linux).
    private static func escape(_ key: String) -> String {
        guard key.utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) else { return key }
        var escaped = ""
        escaped.reserveCapacity(key.utf8.count + 2)
        for character in key.unicodeScalars {
            switch character {
            case "~": escaped += "~0"
            case "/": escaped += "~1"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }
}

extension Timestamp {
    /// The timestamp of a Foundation date (millisecond precision).
    package init(date: Date) {
        self.init(millisecondsSinceEpoch: Int64((date.timeIntervalSince1970 * 1000).rounded(.down)))
    }
}
