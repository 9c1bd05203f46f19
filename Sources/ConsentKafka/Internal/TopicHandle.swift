internal import CRdKafka

/// A librdkafka topic handle (`rd_kafka_topic_t`) created with `rd_kafka_topic_new`.
///
/// `@unchecked Sendable`: librdkafka topic handles are thread-safe; their owner (a producer or
/// consumer) destroys them once, after its last use and before the client handle.
struct TopicHandle: @unchecked Sendable {
    let pointer: OpaquePointer

    /// Creating the handle makes librdkafka 2.0.2 request the topic's metadata at once, so its
    /// partitions exist and have joined their leaders' threads before records or an
    /// assignment need them (see docs/kafka.md, "Start-up stalls").
    init?(client: RdKafkaClient, topic: String) {
        guard let pointer = rd_kafka_topic_new(client.handle, topic, nil) else { return nil }
        self.pointer = pointer
    }

    func destroy() { rd_kafka_topic_destroy(pointer) }
}
