#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A breach notice (R10): a sink quarantined, on its side's inbound topic, a record its side must
/// never hold, and tells both parties. Content-free: no key, no person, no body.
///
/// The wire shape of `Contracts/schemas/breach-notice.schema.json`.
package struct BreachNotice: Sendable, Hashable {
    /// `ce_type` of breach notices.
    package static let ceType = "no.ips.sink.breach-notice.v1"

    /// The sink that found the breach (`detectedBy`).
    package enum Detector: String, Sendable, Hashable, CaseIterable {
        case healthJournalSink = "health-journal-sink"
        case navCaseSink = "nav-case-sink"
        case navFollowUpSink = "nav-followup-sink"

        /// `ce_source` of the notices this sink publishes.
        package var ceSource: String { "urn:no:ips:consent-bridge:\(rawValue)" }
    }

    /// `messageType` when the quarantined record had no `ce_type` header.
    package static let missingType = "missing"

    /// Stable per quarantined record; also the notice's `ce_id` and Kafka key.
    package var breachID: String
    package var detectedBy: Detector
    /// RFC 3339.
    package var detectedAt: String
    /// The record's `ce_id`, only when it is a UUID (see `safeMessageID`).
    package var messageID: String?
    /// A published contract's `ce_type`, `unknown-<8 hex>` or `missing`.
    package var messageType: String
    /// The sink's refusal code (`SinkRejection.Reason`).
    package var reason: String
    /// The rule broken (`R3`, `R8`, `R13`).
    package var rule: String
    /// Where the sink read the record.
    package var source: SourcePosition

    package init(
        breachID: String, detectedBy: Detector, detectedAt: String, messageID: String?, messageType: String,
        reason: String,
        rule: String, source: SourcePosition
    ) {
        self.breachID = breachID
        self.detectedBy = detectedBy
        self.detectedAt = detectedAt
        self.messageID = messageID
        self.messageType = messageType
        self.reason = reason
        self.rule = rule
        self.source = source
    }

    /// A record's `ce_id` as a notice may repeat it: only a UUID (what the bridge mints for every
    /// copy it forwards), by the rule the bridge and the client apply (`CloudEventHeaders.isUUID`).
    /// Any other string could be a sender's text holding a person.
    package static func safeMessageID(_ ceID: String?) -> String? {
        guard let ceID, CloudEventHeaders.isUUID(ceID) else { return nil }
        return ceID
    }

    /// The notice as published.
    package var jsonValue: JSONValue {
        var members: [JSONObject.Member] = [
            .init(key: "breachId", value: .string(breachID)),
            .init(key: "detectedBy", value: .string(detectedBy.rawValue)),
            .init(key: "detectedAt", value: .string(detectedAt)),
        ]
        if let messageID { members.append(.init(key: "messageId", value: .string(messageID))) }
        members += [
            .init(key: "messageType", value: .string(messageType)),
            .init(key: "reason", value: .string(reason)),
            .init(key: "rule", value: .string(rule)),
            .init(key: "source", value: source.jsonValue),
        ]
        return .object(JSONObject(uniqueMembers: members))
    }

    /// Reads a notice from its JSON; an unknown member refuses the whole.
    package init(json: JSONValue) throws(BridgeOutputDecodingError) {
        var reader = try BridgeOutputReader(json)
        breachID = try reader.string("breachId")
        guard let detector = Detector(rawValue: try reader.string("detectedBy")) else {
            throw BridgeOutputDecodingError(member: "detectedBy")
        }
        detectedBy = detector
        detectedAt = try reader.string("detectedAt")
        messageID = try reader.optionalString("messageId")
        messageType = try reader.string("messageType")
        reason = try reader.string("reason")
        rule = try reader.string("rule")
        guard let source = reader.value("source") else { throw BridgeOutputDecodingError(member: "source") }
        self.source = try SourcePosition(json: source)
        try reader.finish()
    }
}
