internal import CRdKafka

/// Owner of an `rd_kafka_topic_partition_list_t`, destroyed with its owner. Not Sendable:
/// partition lists are not thread-safe, so each one stays inside the call that made it.
final class TopicPartitionList {
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    /// A subscription list (partition is unused by `rd_kafka_subscribe`).
    init(topics: [String]) {
        pointer = rd_kafka_topic_partition_list_new(Int32(topics.count))
        for topic in topics {
            rd_kafka_topic_partition_list_add(pointer, topic, RD_KAFKA_PARTITION_UA)
        }
    }

    init(partitions: [KafkaTopicPartition]) {
        pointer = rd_kafka_topic_partition_list_new(Int32(partitions.count))
        for item in partitions {
            rd_kafka_topic_partition_list_add(pointer, item.topic, item.partition)
        }
    }

    deinit { rd_kafka_topic_partition_list_destroy(pointer) }
}

extension UnsafeMutablePointer where Pointee == rd_kafka_topic_partition_list_t {
    /// The topic/partition pairs of a list librdkafka owns.
    var topicPartitions: [KafkaTopicPartition] {
        (0..<Int(pointee.cnt)).map { index in
            let element = pointee.elems[index]
            return KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)
        }
    }
}
