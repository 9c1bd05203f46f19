/// A receipt: what the bridge did with one event, sent back to the side that wrote it (its
/// system tells the clinician or case worker, e.g. "not sent: no consent"). No content.
///
/// The wire shape of `Contracts/schemas/receipt.schema.json`.
package struct BridgeReceipt: Sendable, Hashable, BridgeOutputMembers {
    /// `outcome`.
    package enum Outcome: String, Sendable, Hashable {
        case accepted
        case anonymized
        case rejected
        case withheld
    }

    /// The one reason NAV's receipts give for anything not delivered for a reason on the health
    /// side (R15: whether a person has, lacks or withdrew consent is health information).
    package static let notDelivered = "not-delivered"

    /// `ce_type` of receipts.
    package static let ceType = "no.ips.bridge.receipt.v1"

    /// `ce_id` of the sender's event (or the bridge's position id when it had no usable one).
    package var messageID: String
    /// The `ce_id` the copy that crossed carries (minted by the bridge), when something crossed.
    package var forwardedID: String?
    /// The event's `ce_type` when it names a known contract, else `unknown-…` (see `OperatorSafeType`).
    package var ceType: String?
    /// What happened.
    package var outcome: Outcome
    /// Machine-readable reason (`accepted`, `anonymized` or a reject/withhold code).
    package var reasonCode: String
    /// When the bridge decided (RFC 3339).
    package var decidedAt: String
    /// Digest of the contract set the decision used.
    package var contractVersion: String
    /// Where the event was read.
    package var source: SourcePosition

    /// A receipt with every field given.
    package init(
        messageID: String, forwardedID: String?, ceType: String?, outcome: Outcome, reasonCode: String,
        decidedAt: String,
        contractVersion: String, source: SourcePosition
    ) {
        self.messageID = messageID
        self.forwardedID = forwardedID
        self.ceType = ceType
        self.outcome = outcome
        self.reasonCode = reasonCode
        self.decidedAt = decidedAt
        self.contractVersion = contractVersion
        self.source = source
    }

    package static let memberKeys = [
        "messageId", "forwardedId", "ceType", "outcome", "reasonCode", "decidedAt", "contractVersion", "source",
    ]
    package static let memberKeyPrefixes = keyPrefixes(memberKeys)

    /// The members as published, in a fixed order.
    package func forEachMember(_ visit: (Int, BridgeOutputMember) -> Void) {
        visit(0, .string(messageID))
        if let forwardedID { visit(1, .string(forwardedID)) }
        if let ceType { visit(2, .string(ceType)) }
        visit(3, .string(outcome.rawValue))
        visit(4, .string(reasonCode))
        visit(5, .string(decidedAt))
        visit(6, .string(contractVersion))
        visit(7, .value(source.jsonValue))
    }

    /// Reads a receipt from its JSON; an unknown member refuses the whole.
    package init(json: JSONValue) throws(BridgeOutputDecodingError) {
        var reader = try BridgeOutputReader(json)
        messageID = try reader.string("messageId")
        forwardedID = try reader.optionalString("forwardedId")
        ceType = try reader.optionalString("ceType")
        guard let outcome = Outcome(rawValue: try reader.string("outcome")) else {
            throw BridgeOutputDecodingError(member: "outcome")
        }
        self.outcome = outcome
        reasonCode = try reader.string("reasonCode")
        decidedAt = try reader.string("decidedAt")
        contractVersion = try reader.string("contractVersion")
        guard let source = reader.value("source") else { throw BridgeOutputDecodingError(member: "source") }
        self.source = try SourcePosition(json: source)
        try reader.finish()
    }

    /// This receipt after the relay withheld what the event disclosed (R5).
    package func withheld(reason: String) -> BridgeReceipt {
        var copy = self
        copy.outcome = .withheld
        copy.reasonCode = reason
        copy.forwardedID = nil
        return copy
    }
}

/// Where the bridge read an event: topic, partition and offset (no content).
package struct SourcePosition: Sendable, Hashable {
    package var topic: String
    package var partition: Int32
    package var offset: Int64

    package init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }

    /// The position as published (`source` of receipts and rejection notices).
    package var jsonValue: JSONValue {
        .object(
            JSONObject(uniqueMembers: [
                .init(key: "topic", value: .string(topic)),
                .init(key: "partition", value: .integer(Int64(partition))),
                .init(key: "offset", value: .integer(offset)),
            ]))
    }

    init(json: JSONValue) throws(BridgeOutputDecodingError) {
        var reader = try BridgeOutputReader(json)
        topic = try reader.string("topic")
        guard let partition = try reader.optionalInteger("partition"), let narrow = Int32(exactly: partition) else {
            throw BridgeOutputDecodingError(member: "partition")
        }
        self.partition = narrow
        guard let offset = try reader.optionalInteger("offset") else {
            throw BridgeOutputDecodingError(member: "offset")
        }
        self.offset = offset
        try reader.finish()
    }
}
