package import ConsentKafka
package import ConsentStorage
package import Logging
import ServiceLifecycle

/// Counts, every few seconds, the records on a sink's topics that its store has not applied
/// yet, for the `consent_bridge_sink_lag_records{store}` gauge: a lag that keeps growing means
/// the sink falls behind (or has halted), so that side's documentation is not current.
package struct SinkLagGauge: Service {
    /// The sink's store (its offsets and the topics it reads).
    package let store: any SinkStore
    /// The consumer group the sink stores its offsets under.
    package let groupID: String
    /// Asks the cluster for the topics' partitions and high watermarks.
    package let admin: KafkaAdmin
    /// Receives the lag.
    package let metrics: BridgeMetrics
    /// A failed count is logged at debug level.
    package let logger: Logger
    /// Time between counts.
    package let interval: Duration

    /// A gauge counting every `interval`; counting starts with `run`.
    package init(
        store: any SinkStore, groupID: String, admin: KafkaAdmin, metrics: BridgeMetrics, logger: Logger,
        interval: Duration = OutboxBacklogGauge.defaultInterval
    ) {
        self.store = store
        self.groupID = groupID
        self.admin = admin
        self.metrics = metrics
        self.logger = logger
        self.interval = interval
    }

    /// Counts until graceful shutdown; a failed count leaves the gauge at its last value.
    package func run() async throws {
        await repeatUntilGracefulShutdown(
            every: interval, logger: logger, failure: "Sink lag not counted", metadata: ["store.kind": "\(store.kind)"]
        ) {
            metrics.recordSinkLag(try await lag(), store: store.kind)
        }
    }

    /// Records on the sink's topics beyond the offsets its store holds (sum over partitions).
    package func lag() async throws -> Int {
        let metadata = try await admin.metadata()
        let stored = try await store.offsets(consumerGroup: groupID)
        var lag: Int64 = 0
        for topic in store.sinkTopics {
            guard let found = metadata.topics.first(where: { $0.name == topic }), found.partitionCount > 0 else {
                continue
            }
            let ends = try await admin.highWatermarks(
                topic: topic, partitions: (0..<Int32(found.partitionCount)).map { $0 })
            for (partition, end) in ends {
                let next = stored.first { $0.topic == topic && $0.partition == partition }?.nextOffset ?? 0
                lag += max(0, end - next)
            }
        }
        return Int(lag)
    }
}
