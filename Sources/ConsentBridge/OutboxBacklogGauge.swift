package import ConsentStorage
package import Logging
import ServiceLifecycle

/// Counts the outbox rows waiting for the relay every few seconds, for the
/// `consent_bridge_outbox_pending_rows` gauge: a backlog that keeps growing means the relay
/// cannot publish (a cluster unreachable, a row the broker refuses), although nothing is lost.
package struct OutboxBacklogGauge: Service {
    /// How often the bridge counts (named in the gauge's help text).
    package static let defaultInterval: Duration = .seconds(5)

    /// The bridge store whose pending and failed outbox rows are counted.
    package let store: BridgeStore
    /// Receives the pending and failed counts (gauges).
    package let metrics: BridgeMetrics
    /// A failed count is logged at debug level.
    package let logger: Logger
    /// Time between counts.
    package let interval: Duration

    /// A gauge counting every `interval`; counting starts with `run`.
    package init(store: BridgeStore, metrics: BridgeMetrics, logger: Logger, interval: Duration = Self.defaultInterval)
    {
        self.store = store
        self.metrics = metrics
        self.logger = logger
        self.interval = interval
    }

    /// Counts until graceful shutdown; a failed count leaves the gauges at their last values.
    package func run() async throws {
        // The relay reports database trouble itself.
        await repeatUntilGracefulShutdown(every: interval, logger: logger, failure: "Outbox backlog not counted") {
            metrics.recordOutboxPending(try await store.pendingOutboxCount())
            metrics.recordOutboxFailed(try await store.failedOutboxCount())
        }
    }
}
