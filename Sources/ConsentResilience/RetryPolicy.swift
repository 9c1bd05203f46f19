import ConsentKafka
import ConsentStorage
package import Logging

/// Exponential back-off for infrastructure errors (broker, database).
///
/// Such errors halt the pipeline and are retried until they clear or the service is shut
/// down: they never turn into rejections or skipped messages. A fatal Kafka error (librdkafka
/// says the client can never recover, e.g. an idempotent producer out of sequence) is not
/// retried: it ends the service, so the process stops and its supervisor starts it afresh.
package struct RetryPolicy: Sendable {
    /// Wait after the first failure; doubled after each further one, up to `maximumDelay`.
    package var initialDelay: Duration
    /// Longest wait between attempts.
    package var maximumDelay: Duration

    /// Where failing runs are listed while they retry (readiness), if anywhere.
    package var status: RetryStatus?

    /// A policy; by default 100 ms, doubling up to 5 s; failing runs listed in `status`.
    package init(
        initialDelay: Duration = .milliseconds(100), maximumDelay: Duration = .seconds(5), status: RetryStatus? = nil
    ) {
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.status = status
    }

    /// Runs `operation` until it succeeds; rethrows `CancellationError` (shutdown), fatal
    /// Kafka errors and a replaced Kafka cluster (retrying cannot clear them) and the errors
    /// `isRetried` refuses.
    package func run<T: Sendable>(
        _ what: String, logger: Logger, isRetried: (any Error) -> Bool = { _ in true },
        _ operation: () async throws -> T
    ) async throws -> T {
        var delay = initialDelay
        var attempt = 0
        // Listed in `status` from the first failed attempt until the run ends, whichever way.
        var token: Int?
        defer { if let token { status?.ended(token) } }
        while true {
            try Task.checkCancellation()
            do {
                return try await operation()
            } catch is CancellationError {
                throw CancellationError()
            } catch let error as KafkaError where error.isFatal {
                logger.critical(
                    "Fatal Kafka error: not retried; the process stops so that it can be restarted",
                    metadata: [
                        "bridge.operation": "\(what)", "error": "\(error)",
                    ])
                throw error
            } catch let error as StorageError where error.code == .kafkaClusterReplaced {
                // An operator's decision, not an outage: the process stops (the refusal, logged
                // where it was made, names the command that adopts the new cluster).
                throw error
            } catch let error where !isRetried(error) {
                throw error
            } catch {
                attempt += 1
                token = status?.failed(token, operation: what, error: error)
                // Error descriptions of our stores and Kafka client carry no personal data.
                var metadata: Logger.Metadata = [
                    "bridge.operation": "\(what)", "bridge.attempt": "\(attempt)", "error": "\(error)",
                ]
                // A database's own code and category (never its message, which can quote values).
                if let failure = (error as? StorageError)?.databaseFailure {
                    metadata["store.failure"] = "\(failure.category)"
                    if let sqlState = failure.sqlState { metadata["store.sqlstate"] = "\(sqlState)" }
                }
                logger.warning("Infrastructure error; retrying", metadata: metadata)
                try await Task.sleep(for: delay)
                delay = min(delay * 2, maximumDelay)
            }
        }
    }
}
