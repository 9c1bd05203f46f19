/// How a `KafkaConsumer` joins its group and where it starts reading.
package struct KafkaConsumerConfiguration: Sendable {
    /// Returns the stored position (the offset of the next record to read) for each newly
    /// assigned partition. Partitions missing from the result start at the beginning of the
    /// partition, never at its end: a silent jump to the end would lose records.
    ///
    /// The second argument is the id of the cluster the partitions are on, as the cluster
    /// itself reports it: a position counts records of one cluster's log, and read on another
    /// cluster it would skip or repeat records silently, so a caller that stores positions
    /// keeps the id beside them and throws on a different one.
    package typealias StartingOffsets =
        @Sendable (_ partitions: [KafkaTopicPartition], _ clusterID: String)
        async throws -> [KafkaTopicPartition: Int64]

    /// Brokers, client id and librdkafka properties (these override `defaultProperties`).
    package var client: KafkaClientConfiguration
    /// The Kafka consumer group (`group.id`): it shares out partitions; offsets stay the caller's.
    package var groupID: String
    /// The topics subscribed to.
    package var topics: [String]
    /// Called on every assignment; throwing stops the consumer with that error (fail closed).
    package var startingOffsets: StartingOffsets
    /// Most records handed to Swift in one batch.
    package var maxBatchSize: Int
    /// Batches read ahead of the caller before the poll thread waits (bounds memory).
    package var maxBufferedBatches: Int
    /// How long a batch waits, after its first record, for more (until `maxBatchSize`), in
    /// milliseconds; 0 hands over what is there at once. Below saturation every batch costs
    /// its caller fixed work (a commit, a few Kafka requests): gathering cuts that per record
    /// at up to this much latency. At saturation batches fill at once and it costs nothing.
    package var batchLingerMilliseconds: Int

    /// A configuration; with the default `startingOffsets` every partition starts at its beginning.
    package init(
        client: KafkaClientConfiguration,
        groupID: String,
        topics: [String],
        maxBatchSize: Int = 500,
        maxBufferedBatches: Int = 4,
        batchLingerMilliseconds: Int = 0,
        startingOffsets: @escaping StartingOffsets = { _, _ in [:] }
    ) {
        self.client = client
        self.groupID = groupID
        self.topics = topics
        self.maxBatchSize = maxBatchSize
        self.maxBufferedBatches = maxBufferedBatches
        self.batchLingerMilliseconds = batchLingerMilliseconds
        self.startingOffsets = startingOffsets
    }

    /// librdkafka defaults for our consumers; `client.properties` override them.
    package static let defaultProperties: [String: String] = [
        // Offsets live in the caller's store, never auto-committed to Kafka.
        "enable.auto.commit": "false",
        "enable.auto.offset.store": "false",
        // Only used when a stored position is out of range: start over (duplicates are
        // de-duplicated downstream) instead of skipping to the end (which would lose data).
        "auto.offset.reset": "earliest",
        "enable.partition.eof": "false",
        "partition.assignment.strategy": "range,roundrobin",
    ]
}

/// A change of the partitions this consumer reads.
package enum KafkaAssignmentChange: Sendable, Hashable {
    /// Newly assigned, each starting at the offset given (or the beginning: -2).
    case assigned([KafkaTopicPartition: Int64])
    /// Taken away (rebalance or close); records already handed out may still be in flight.
    case revoked([KafkaTopicPartition])
}
