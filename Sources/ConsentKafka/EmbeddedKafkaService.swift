import Logging
import ServiceLifecycle

/// Runs an `EmbeddedKafkaCluster` as a `Service` until graceful shutdown.
package struct EmbeddedKafkaService: Service {
    package let cluster: EmbeddedKafkaCluster
    package let forwarder: LoopbackForwarder?

    package init(cluster: EmbeddedKafkaCluster, forwarder: LoopbackForwarder? = nil) {
        self.cluster = cluster
        self.forwarder = forwarder
    }

    package func run() async throws {
        // Returns when the service group starts its graceful shutdown (SIGINT/SIGTERM).
        try? await gracefulShutdown()
        forwarder?.stop()
        cluster.shutdown()
    }
}
