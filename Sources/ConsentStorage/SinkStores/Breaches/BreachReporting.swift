package import ConsentContracts
import Crypto
import Foundation
import SQLKit

/// How a sink reports what it must never hold (R10): quarantine sealed with its side's key,
/// and a content-free `BreachNotice` for both parties' breach topics.
///
/// The composition root builds it from the configuration (the side's sealing key, the breach
/// topics) and the contract catalog (the types a notice may name).
package struct BreachReporting: Sendable {
    /// The sink the notices name as `detectedBy`.
    package var detector: BreachNotice.Detector
    /// Seals quarantined records (the side's current key).
    package var sealer: SealingBox
    /// Where each notice goes: both parties' breach topics.
    package var noticeTopics: [String]
    /// `ce_type`s a notice may repeat (the published contracts); any other string becomes
    /// `unknown-<8 hex>` (a keyed digest).
    package var publishedTypes: Set<String>

    package init(
        detector: BreachNotice.Detector, sealer: SealingBox, noticeTopics: [String], publishedTypes: Set<String>
    ) {
        self.detector = detector
        self.sealer = sealer
        self.noticeTopics = noticeTopics
        self.publishedTypes = publishedTypes
    }

    /// The breach id of a record: derived from the detecting sink and the record's position, so
    /// a replayed batch quarantines and notifies it once (a UUIDv8 of SHA-256).
    func breachID(of record: SinkRecord) -> String {
        var bytes = Array(
            SHA256.hash(
                data: Array(
                    "\(detector.rawValue)\u{0}\(record.topic)\u{0}\(record.partition)\u{0}\(record.offset)".utf8)
            ).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x80  // version 8 (RFC 9562: custom)
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // variant 10
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let characters = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }

    /// The record's type as a notice may say it.
    func safeType(_ ceType: String?) -> String {
        guard let ceType else { return BreachNotice.missingType }
        if publishedTypes.contains(ceType) { return ceType }
        return "unknown-" + sealer.digest(ceType).prefix(8)
    }

    /// The quarantine row and notice for `record`.
    func quarantine(_ record: SinkRecord, reason: SinkRejection.Reason, rule: String, now: Date) throws
        -> QuarantinedRecord
    {
        let breachID = self.breachID(of: record)
        let notice = BreachNotice(
            breachID: breachID, detectedBy: detector, detectedAt: StoreTime.string(from: now),
            messageID: BreachNotice.safeMessageID(record.ceID), messageType: safeType(record.ceType),
            reason: reason.code,
            rule: rule, source: SourcePosition(topic: record.topic, partition: record.partition, offset: record.offset))
        let sealed = try sealer.seal(Self.envelope(of: record), associatedData: breachID)
        return QuarantinedRecord(notice: notice, sealedRecord: sealed, sealingKeyID: sealer.keyID)
    }

    /// The whole record as received (key, headers, value), as one JSON document to seal: the
    /// side's security officer opens it to investigate; nobody else can read it.
    static func envelope(of record: SinkRecord) -> [UInt8] {
        func bytes(_ value: [UInt8]?) -> JSONValue {
            value.map { .string(Data($0).base64EncodedString()) } ?? .null
        }
        let headers = record.headers.map { header in
            JSONValue.object(
                JSONObject(uniqueMembers: [
                    .init(key: "name", value: .string(header.name)), .init(key: "value", value: bytes(header.value)),
                ]))
        }
        return JSONValue.object(
            JSONObject(uniqueMembers: [
                .init(key: "topic", value: .string(record.topic)),
                .init(key: "partition", value: .integer(Int64(record.partition))),
                .init(key: "offset", value: .integer(record.offset)),
                .init(key: "key", value: bytes(record.key)),
                .init(key: "headers", value: .array(headers)),
                .init(key: "value", value: bytes(record.value)),
            ])
        ).serializedBytes()
    }
}

/// A quarantined record: its breach notice and the sealed record.
package struct QuarantinedRecord: Sendable, Hashable {
    package var notice: BreachNotice
    /// `nonce ‖ ciphertext ‖ tag` of `BreachReporting.envelope(of:)`, associated data the breach id.
    package var sealedRecord: [UInt8]
    package var sealingKeyID: String
}

/// A breach notice waiting in a sink's outbox for one topic.
package struct PendingBreachNotice: Sendable, Hashable {
    package var breachID: String
    package var topic: String
    /// The notice's JSON (the published contract's shape).
    package var payload: [UInt8]
    /// RFC 3339; the notice's `ce_time`.
    package var detectedAt: String
}
