/// A rejection notice for operators: metadata about an event the bridge refused, with the
/// payload sealed to the origin side's key (operators see codes and ids, never content).
///
/// The wire shape of `Contracts/schemas/rejected.schema.json`.
package struct RejectionNotice: Sendable, Hashable {
    /// `ce_type` of rejection notices.
    package static let ceType = "no.ips.bridge.rejected.v1"
    /// Longest base64 ciphertext a notice carries (the contract's `maxLength`): a notice stays
    /// well below a broker's default 1 MB message limit. Larger sealed payloads stay in the
    /// bridge store (for redrive) and are left out of the notice.
    package static let maxCiphertextLength = 240_000

    /// The sealed original body.
    package struct SealedPayload: Sendable, Hashable {
        package var keyID: String
        /// Base64 of nonce ‖ ciphertext ‖ tag (AES-256-GCM).
        package var ciphertext: String

        package init(keyID: String, ciphertext: String) {
            self.keyID = keyID
            self.ciphertext = ciphertext
        }
    }

    /// The bridge's id for the message (the sender's `ce_id`, or a position id).
    package var messageID: String
    /// The message's `ce_type` when known, else `unknown-…` (never the sender's unknown string).
    package var ceType: String
    /// `health` or `nav`.
    package var originSide: String
    /// The reason code.
    package var reasonCode: String
    /// Schema locations of violations (contract property names only).
    package var violationPointers: [String]
    /// When the bridge decided (RFC 3339).
    package var rejectedAt: String
    /// Where the event was read.
    package var source: SourcePosition
    /// The sealed body; nil when the body was too large to carry or never opened (`too-large`).
    package var sealedPayload: SealedPayload?

    package init(
        messageID: String, ceType: String, originSide: String, reasonCode: String, violationPointers: [String],
        rejectedAt: String,
        source: SourcePosition, sealedPayload: SealedPayload?
    ) {
        self.messageID = messageID
        self.ceType = ceType
        self.originSide = originSide
        self.reasonCode = reasonCode
        self.violationPointers = violationPointers
        self.rejectedAt = rejectedAt
        self.source = source
        self.sealedPayload = sealedPayload
    }

    /// The notice as published.
    package var jsonValue: JSONValue {
        var members: [JSONObject.Member] = [
            .init(key: "messageId", value: .string(messageID)),
            .init(key: "ceType", value: .string(ceType)),
            .init(key: "originSide", value: .string(originSide)),
            .init(key: "reasonCode", value: .string(reasonCode)),
        ]
        if !violationPointers.isEmpty {
            members.append(.init(key: "violationPointers", value: .array(violationPointers.map(JSONValue.string))))
        }
        members += [
            .init(key: "rejectedAt", value: .string(rejectedAt)),
            .init(key: "source", value: source.jsonValue),
        ]
        if let sealedPayload {
            members.append(
                .init(
                    key: "sealedPayload",
                    value: .object(
                        JSONObject(uniqueMembers: [
                            .init(key: "algorithm", value: .string("aes-256-gcm")),
                            .init(key: "keyId", value: .string(sealedPayload.keyID)),
                            .init(key: "ciphertext", value: .string(sealedPayload.ciphertext)),
                        ]))))
        }
        return .object(JSONObject(uniqueMembers: members))
    }
}
