import ConsentContracts
import ConsentKafka
import ConsentStorage
import Logging

/// Publishes a sink's queued breach notices (R10) to both parties' breach topics, then marks
/// them published: at least once, keyed and identified by the breach id, which each side's
/// sink de-duplicates when it files them.
///
/// The notices are queued in the transaction that quarantines the record, so a crash between
/// commit and publish loses nothing: the next run publishes what is still pending.
struct BreachNoticePublisher {
    /// `ce_source` of the notices (the detecting sink).
    let source: String
    /// The producer of each breach topic (each on the cluster of the party it belongs to).
    let producers: [String: KafkaProducer]
    let logger: Logger

    /// Publishes every pending notice; throws (the sink halts and restarts) when the broker
    /// refuses one, leaving it pending.
    func publishPending(from store: any SinkStore) async throws -> Int {
        var published = 0
        while true {
            let pending = try await store.pendingBreachNotices(limit: 100)
            if pending.isEmpty { return published }
            var groups: [String: [PendingBreachNotice]] = [:]
            for notice in pending { groups[notice.topic, default: []].append(notice) }
            for (topic, notices) in groups.sorted(by: { $0.key < $1.key }) {
                guard let producer = producers[topic] else { throw BreachPublishError.noProducer(topic: topic) }
                let results = try await producer.send(notices.map(record))
                for result in results { _ = try result.get() }
            }
            try await store.markBreachNoticesPublished(pending)
            published += pending.count
            logger.info("breach notices published", metadata: ["breach.notices": "\(pending.count)"])
        }
    }

    func record(_ notice: PendingBreachNotice) -> KafkaOutgoingRecord {
        KafkaOutgoingRecord(
            topic: notice.topic, key: Array(notice.breachID.utf8), value: notice.payload,
            headers: [
                KafkaHeader(name: "ce_id", string: notice.breachID),
                KafkaHeader(name: "ce_type", string: BreachNotice.ceType),
                KafkaHeader(name: "ce_source", string: source),
                KafkaHeader(name: "ce_time", string: notice.detectedAt),
                KafkaHeader(name: "ce_specversion", string: "1.0"),
                KafkaHeader(name: "content-type", string: "application/json"),
            ])
    }

    enum BreachPublishError: Error, CustomStringConvertible {
        case noProducer(topic: String)
        var description: String {
            switch self {
            case .noProducer(let topic): "no producer for breach topic \(topic)"
            }
        }
    }
}
