import Logging
import ServiceLifecycle

/// Runs an `EmbeddedKafkaCluster` as a `Service` until graceful shutdown.
package struct EmbeddedKafkaService: Service {
    /// The cluster, shut down when the group shuts down.
    package let cluster: EmbeddedKafkaCluster
    /// The stable bootstrap port in front of the cluster, if any; stopped before the cluster.
    package let forwarder: LoopbackForwarder?

    /// Wraps `cluster` (and its `forwarder`, if any) as a service.
    package init(cluster: EmbeddedKafkaCluster, forwarder: LoopbackForwarder? = nil) {
        self.cluster = cluster
        self.forwarder = forwarder
    }

    /// Waits for graceful shutdown, then stops the forwarder and shuts the cluster down.
    package func run() async throws {
        // Returns when the service group starts its graceful shutdown (SIGINT/SIGTERM).
        try? await gracefulShutdown()
        forwarder?.stop()
        cluster.shutdown()
    }
}
