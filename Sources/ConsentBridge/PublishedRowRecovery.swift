import ConsentKafka
import ConsentStorage
import Foundation
import Logging

/// After a crash, finds outbox rows that were published but not yet marked, by reading the
/// destination partitions back from the relay's last recorded positions, so they are marked
/// instead of sent twice.
///
/// The relay records, with every `markPublished`, the next offset after what it wrote into
/// each destination partition. Anything published but unmarked therefore lies between those
/// positions and the high watermark; its `ce_id` (unique per row and topic) identifies it.
struct PublishedRowRecovery: Sendable {
    let store: BridgeStore
    let clients: [BridgeSide: KafkaClientConfiguration]
    let sideOfTopic: @Sendable (String) -> BridgeSide
    let logger: Logger

    /// Marks every pending row already present in its destination topic; returns how many.
    func run() async throws -> Int {
        // Rows beyond this many (a very long outage) are checked at the next start.
        // Only the ids are compared: the payloads the store builds again are not needed.
        let pending = try await store.pendingOutbox(limit: 200_000, derivingPayloads: false)
        if pending.isEmpty { return 0 }
        let positions = try await store.offsets(consumerGroup: BridgeStore.relayPublishedGroup)
        var found: [String: Int64] = [:]  // "topic\u{0}ce_id" -> sequence
        var wanted: [String: Int64] = [:]
        for row in pending {
            guard let id = row.record.headerText(BridgeHeaders.id) else { continue }
            wanted[row.record.topic + "\u{0}" + id] = row.sequence
        }
        for side in BridgeSide.allCases {
            let topics = Set(pending.map(\.record.topic).filter { sideOfTopic($0) == side })
            guard !topics.isEmpty, let client = clients[side] else { continue }
            for (key, sequence) in try await readBack(
                topics: Array(topics).sorted(), client: client, positions: positions, wanted: wanted)
            {
                found[key] = sequence
            }
        }
        let sequences = Array(found.values)
        try await store.markPublished(sequences: sequences)
        logger.notice(
            "Relay recovery: rows found already published",
            metadata: ["bridge.rows": "\(sequences.count)", "bridge.pending": "\(pending.count)"])
        return sequences.count
    }

    /// Reads `topics` from the recorded positions to their high watermarks.
    private func readBack(
        topics: [String], client: KafkaClientConfiguration, positions: [ConsumerOffset], wanted: [String: Int64]
    ) async throws -> [String: Int64] {
        var starts: [KafkaTopicPartition: Int64] = [:]
        for position in positions where topics.contains(position.topic) {
            starts[KafkaTopicPartition(topic: position.topic, partition: position.partition)] = position.nextOffset
        }
        let startsSnapshot = starts
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                client: client, groupID: "consent-bridge-relay-recovery-\(UUID().uuidString.prefix(8).lowercased())",
                topics: topics,
                startingOffsets: { partitions, _ in startsSnapshot.filter { partitions.contains($0.key) } }),
            logger: logger)
        defer { Task { await consumer.close() } }
        try consumer.start()

        // The assignment tells which partitions exist; their high watermarks where to stop.
        var assigned: [KafkaTopicPartition: Int64] = [:]
        for await change in consumer.assignmentChanges {
            if case .assigned(let offsets) = change {
                assigned = offsets
                break
            }
        }
        // Cancelled (the relay's shutdown), the stream ends without an assignment: that is not
        // "nothing to read back", and the caller must not publish as if it were.
        try Task.checkCancellation()
        var remaining: [KafkaTopicPartition: Int64] = [:]
        for (partition, start) in assigned {
            let high = try await consumer.highWatermark(topic: partition.topic, partition: partition.partition)
            if high > max(start, 0) { remaining[partition] = high }
        }
        var found: [String: Int64] = [:]
        if remaining.isEmpty { return found }
        for try await batch in consumer.batches {
            for record in batch {
                if let id = record.headers.string(named: BridgeHeaders.id),
                    let sequence = wanted[record.topic + "\u{0}" + id]
                {
                    found[record.topic + "\u{0}" + id] = sequence
                }
                if let high = remaining[record.topicPartition], record.offset + 1 >= high {
                    remaining.removeValue(forKey: record.topicPartition)
                }
            }
            if remaining.isEmpty { break }
        }
        // Batches also end when cancelled, before the high watermarks.
        try Task.checkCancellation()
        return found
    }
}
