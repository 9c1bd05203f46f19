/// The names the Kafka client's threads carry where the system shows threads (`top -H`, perf,
/// `/proc`; at most 15 characters), for operators and for `bench bridge`'s per-thread figures.
package enum KafkaThreadNames {
    /// A consumer's poll loop.
    package static let consume = "kafka-consume"
    /// A producer's delivery reports.
    package static let delivery = "kafka-delivery"
    /// A client's thread for its blocking calls (metadata, watermark queries, flush), one each.
    package static let blocking = "kafka-blocking"
    /// The short-lived thread that destroys a closed client (librdkafka's destroy blocks).
    package static let destroy = "kafka-destroy"
    /// What librdkafka's own threads' names begin with (`rdk:main`, `rdk:broker1`, …).
    package static let librdkafkaPrefix = "rdk:"
}
