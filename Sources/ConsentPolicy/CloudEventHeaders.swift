/// The CloudEvents binary-mode headers of a Kafka message (`ce_id`, `ce_type`, …).
///
/// Missing headers are nil; the policy decides which absences are fatal.
package struct CloudEventHeaders: Sendable, Hashable {
    /// `ce_id`: unique per message; receivers de-duplicate by it.
    package var id: String?
    /// `ce_type`: names the contract, e.g. `no.ips.health.referral.v1`.
    package var type: String?
    /// `ce_source`: the sending system.
    package var source: String?
    /// `ce_time`: when the event happened (RFC 3339); the anonymous form's age bands use it.
    package var time: String?
    /// `ce_specversion`: must be `1.0` when present.
    package var specVersion: String?
    /// `content-type`: must be JSON when present.
    package var contentType: String?

    /// Headers with the given values.
    package init(
        id: String?, type: String?, source: String? = nil, time: String? = nil, specVersion: String? = "1.0",
        contentType: String? = "application/json"
    ) {
        self.id = id
        self.type = type
        self.source = source
        self.time = time
        self.specVersion = specVersion
        self.contentType = contentType
    }

    /// Reads the headers from Kafka header pairs (names as in ARCHITECTURE.md).
    package init(kafkaHeaders: [(name: String, value: [UInt8])]) {
        func value(_ name: String) -> String? {
            guard let bytes = kafkaHeaders.last(where: { $0.name == name })?.value else { return nil }
            return String(validating: bytes, as: UTF8.self)
        }
        self.init(
            id: value("ce_id"), type: value("ce_type"), source: value("ce_source"), time: value("ce_time"),
            specVersion: value("ce_specversion"), contentType: value("content-type"))
    }
}
