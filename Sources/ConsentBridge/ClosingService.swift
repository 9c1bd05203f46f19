import ServiceLifecycle

/// Closes resources when its group shuts down, as a service of that group.
///
/// A group stops its services in reverse order, so placing this right after the services a
/// resource outlives (an embedded broker) and before those that use it (pipelines, sinks, the
/// operator service) closes stores and Kafka clients after their users stopped and while the
/// broker is still there: no "connection refused" at the end of every run.
package struct ClosingService: Service {
    private let close: @Sendable () async -> Void

    /// Creates the service; `close` runs once, at shutdown (graceful or cancelled).
    package init(_ close: @escaping @Sendable () async -> Void) {
        self.close = close
    }

    /// Waits for graceful shutdown (or cancellation), then runs `close`.
    package func run() async throws {
        try? await gracefulShutdown()
        await close()
    }
}
