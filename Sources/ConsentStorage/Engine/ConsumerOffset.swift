/// The next offset to consume for one partition of one topic, for one consumer group.
///
/// Stored in the same transaction as the records consumed up to it, so a restart resumes
/// exactly after the last committed batch (ARCHITECTURE.md, "the database is the source of truth").
package struct ConsumerOffset: Sendable, Hashable {
    /// Consumer group (or logical reader, e.g. the consent view).
    package var consumerGroup: String
    /// Topic name.
    package var topic: String
    /// Partition number.
    package var partition: Int32
    /// Offset of the next record to read (last processed + 1).
    package var nextOffset: Int64

    /// Creates an offset.
    package init(consumerGroup: String, topic: String, partition: Int32, nextOffset: Int64) {
        self.consumerGroup = consumerGroup
        self.topic = topic
        self.partition = partition
        self.nextOffset = nextOffset
    }
}
