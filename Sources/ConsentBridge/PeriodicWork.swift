package import Logging
import ServiceLifecycle

/// The loop of the services that measure something every few seconds (the outbox backlog, a
/// sink's lag): until graceful shutdown, run `body`, then wait `interval`. A failed run is
/// logged at debug level and leaves what it measures at its last value (whoever does the work
/// reports infrastructure trouble itself, at its own level).
package func repeatUntilGracefulShutdown(
    every interval: Duration, logger: Logger, failure message: Logger.Message, metadata: Logger.Metadata = [:],
    _ body: @escaping @Sendable () async throws -> Void
) async {
    await cancelWhenGracefulShutdown {
        while !Task.isCancelled {
            do {
                try await body()
            } catch {
                logger.debug(message, metadata: metadata.merging(["error": "\(error)"]) { _, new in new })
            }
            try? await Task.sleep(for: interval)
        }
    }
}
