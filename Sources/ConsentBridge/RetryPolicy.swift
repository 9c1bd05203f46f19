import Logging

/// Exponential back-off for infrastructure errors (broker, database).
///
/// Such errors halt the pipeline and are retried until they clear or the service is shut
/// down: they never turn into rejections or skipped messages.
package struct RetryPolicy: Sendable {
    package var initialDelay: Duration
    package var maximumDelay: Duration

    package init(initialDelay: Duration = .milliseconds(100), maximumDelay: Duration = .seconds(5)) {
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
    }

    /// Runs `operation` until it succeeds; rethrows only `CancellationError` (shutdown).
    package func run<T: Sendable>(_ what: String, logger: Logger, _ operation: () async throws -> T) async throws -> T {
        var delay = initialDelay
        var attempt = 0
        while true {
            try Task.checkCancellation()
            do {
                return try await operation()
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                attempt += 1
                // Error descriptions of our stores and Kafka client carry no personal data.
                logger.warning("Infrastructure error; retrying", metadata: [
                    "bridge.operation": "\(what)", "bridge.attempt": "\(attempt)", "error": "\(error)",
                ])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, maximumDelay)
            }
        }
    }
}
