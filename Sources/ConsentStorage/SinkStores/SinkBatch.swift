/// A batch of consumed records for one sink, applied in one transaction with its offsets.
package struct SinkBatch: Sendable, Hashable {
    /// The sink's consumer group (offsets are stored under it).
    package var consumerGroup: String
    /// Records in consumption order.
    package var records: [SinkRecord]

    /// Creates a batch.
    package init(consumerGroup: String, records: [SinkRecord]) {
        self.consumerGroup = consumerGroup
        self.records = records
    }
}
