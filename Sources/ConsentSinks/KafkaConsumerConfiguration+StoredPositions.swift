package import ConsentKafka
package import ConsentStorage

extension KafkaConsumerConfiguration {
    /// Starting offsets from `database`'s stored positions of `consumerGroup`, once the
    /// assigned topics are checked to be bound to the cluster that assigned them
    /// (`StoreDatabase.kafkaPositions`): positions read from another cluster stop the consumer
    /// (fail closed) instead of skipping the new cluster's records.
    /// `store`: which store `database` is (named in a refusal).
    package static func storedPositions(in database: StoreDatabase, of store: StoreKind, consumerGroup: String)
        -> StartingOffsets
    {
        { partitions, clusterID in
            let stored = try await database.kafkaPositions(
                consumerGroup: consumerGroup, topics: Set(partitions.map(\.topic)), clusterID: clusterID, store: store)
            let assigned = Set(partitions)
            var starts: [KafkaTopicPartition: Int64] = [:]
            for offset in stored {
                let key = KafkaTopicPartition(topic: offset.topic, partition: offset.partition)
                if assigned.contains(key) { starts[key] = offset.nextOffset }
            }
            return starts
        }
    }
}
