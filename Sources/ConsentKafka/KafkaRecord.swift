package import struct Foundation.Date

/// A Kafka record header. A `nil` value is a header present without a value.
package struct KafkaHeader: Sendable, Hashable {
    /// The header's name.
    package var name: String
    /// The raw value; `nil` for a header without a value.
    package var value: [UInt8]?

    /// A header with raw bytes (`nil`: present without a value).
    package init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }

    /// A header with a UTF-8 string value.
    package init(name: String, string: String) {
        self.init(name: name, value: Array(string.utf8))
    }

    /// The value decoded as UTF-8, if it is valid UTF-8.
    package var stringValue: String? {
        value.flatMap { String(validating: $0, as: UTF8.self) }
    }
}

extension Array where Element == KafkaHeader {
    /// The value of the first header called `name`, decoded as UTF-8.
    package func string(named name: String) -> String? {
        first(where: { $0.name == name })?.stringValue
    }
}

/// A topic and partition.
package struct KafkaTopicPartition: Sendable, Hashable, CustomStringConvertible {
    /// The topic's name.
    package var topic: String
    /// The partition number within the topic.
    package var partition: Int32

    /// Partition `partition` of `topic`.
    package init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    /// `topic[partition]`.
    package var description: String { "\(topic)[\(partition)]" }
}

/// A record read from Kafka. A `nil` value is a tombstone.
package struct KafkaRecord: Sendable, Hashable {
    /// The topic the record was read from.
    package var topic: String
    /// The partition the record was read from.
    package var partition: Int32
    /// The record's offset within its partition.
    package var offset: Int64
    /// The key; `nil` when the record has none.
    package var key: [UInt8]?
    /// The value; `nil` for a tombstone.
    package var value: [UInt8]?
    /// The record's headers, in order.
    package var headers: [KafkaHeader]
    /// Producer or log-append time, when the broker supplied one.
    package var timestamp: Date?

    /// A record; built by the consumer, and by callers that re-create a stored one (redrive, tests).
    package init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8]?,
        headers: [KafkaHeader], timestamp: Date?
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }

    /// Where this record is stored.
    package var topicPartition: KafkaTopicPartition { KafkaTopicPartition(topic: topic, partition: partition) }
}

/// A record to produce. `partition == nil` lets the partitioner choose from the key.
package struct KafkaOutgoingRecord: Sendable, Hashable {
    /// The topic to produce to.
    package var topic: String
    /// The partition; `nil` lets the partitioner choose from the key.
    package var partition: Int32?
    /// The key; `nil` for none.
    package var key: [UInt8]?
    /// The value; `nil` produces a tombstone.
    package var value: [UInt8]?
    /// The record's headers.
    package var headers: [KafkaHeader]

    /// A record to produce; without `partition` the partitioner chooses.
    package init(topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader] = []) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
    }
}

/// Where the broker stored a produced record (acks=all).
package struct KafkaDeliveryReport: Sendable, Hashable {
    /// The topic the record was written to.
    package var topic: String
    /// The partition the record was written to.
    package var partition: Int32
    /// The offset the broker gave the record.
    package var offset: Int64
}
