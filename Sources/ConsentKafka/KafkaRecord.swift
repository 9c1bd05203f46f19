import struct Foundation.Date

/// A Kafka record header. A `nil` value is a header present without a value.
package struct KafkaHeader: Sendable, Hashable {
    package var name: String
    package var value: [UInt8]?

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
    package var topic: String
    package var partition: Int32

    package init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    package var description: String { "\(topic)[\(partition)]" }
}

/// A record read from Kafka. A `nil` value is a tombstone.
package struct KafkaRecord: Sendable, Hashable {
    package var topic: String
    package var partition: Int32
    package var offset: Int64
    package var key: [UInt8]?
    package var value: [UInt8]?
    package var headers: [KafkaHeader]
    /// Producer or log-append time, when the broker supplied one.
    package var timestamp: Date?

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
    package var topic: String
    package var partition: Int32?
    package var key: [UInt8]?
    package var value: [UInt8]?
    package var headers: [KafkaHeader]

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
    package var topic: String
    package var partition: Int32
    package var offset: Int64
}
