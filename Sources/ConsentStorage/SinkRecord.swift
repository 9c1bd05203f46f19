import Foundation

/// One consumed Kafka record handed to a sink store (no Kafka types: storage stays a leaf).
package struct SinkRecord: Sendable, Hashable {
    /// Topic it was read from.
    package var topic: String
    /// Partition.
    package var partition: Int32
    /// Offset within the partition.
    package var offset: Int64
    /// Kafka key.
    package var key: [UInt8]?
    /// Body; nil is a tombstone.
    package var value: [UInt8]?
    /// Headers (CloudEvents binary mode).
    package var headers: [MessageHeader]

    /// Creates a record.
    package init(topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8]?, headers: [MessageHeader]) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
    }

    /// The UTF-8 value of the last header with this name, if present and valid UTF-8.
    package func headerText(_ name: String) -> String? {
        guard let header = self.headers.last(where: { $0.name == name }), let value = header.value else { return nil }
        return String(validating: value, as: UTF8.self)
    }

    /// `ce_id`, the idempotency key of every sink.
    package var ceID: String? { self.headerText("ce_id").flatMap { $0.isEmpty ? nil : $0 } }
    /// `ce_type`.
    package var ceType: String? { self.headerText("ce_type").flatMap { $0.isEmpty ? nil : $0 } }
    /// The key as UTF-8 text (subject id on the consent and IPS topics).
    package var keyText: String? { self.key.flatMap { String(validating: $0, as: UTF8.self) }.flatMap { $0.isEmpty ? nil : $0 } }
}
