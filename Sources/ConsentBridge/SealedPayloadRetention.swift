package import ConsentStorage
package import Foundation
package import Logging
import ServiceLifecycle

/// Erases rejected messages' sealed payloads once their retention
/// (`rejections.sealed-payload-retention-hours`) ends, at start and then every few minutes.
///
/// A sealed payload is the origin side's confidential content, kept by the bridge only so that
/// a redrive can decide it again after the patient consents; a redrive after the retention
/// answers `expired` (`RejectionRedrive`). The rejection's metadata stays for the operators'
/// counts and trends. Erasing also bounds how long an operator must keep a rotated-out sealing
/// key (docs/operations.md).
package struct SealedPayloadRetention: Service {
    /// How often expired payloads are looked for.
    package static let defaultInterval: Duration = .seconds(600)
    /// Payloads erased per transaction: short transactions beside the pipelines' batches, and a
    /// store upgraded with a long history catches up in steps.
    package static let rowsPerTransaction = 1_000

    /// The bridge store whose rejections' payloads are erased.
    package let store: BridgeStore
    /// How long a payload is kept after its message was received.
    package let retention: Duration
    /// Counts the erased payloads.
    package let metrics: BridgeMetrics
    /// Logs counts only.
    package let logger: Logger
    /// Time between passes.
    package let interval: Duration

    /// A retention pass every `interval`; the first runs when `run` starts.
    package init(
        store: BridgeStore, retention: Duration, metrics: BridgeMetrics, logger: Logger,
        interval: Duration = Self.defaultInterval
    ) {
        self.store = store
        self.retention = retention
        self.metrics = metrics
        self.logger = logger
        self.interval = interval
    }

    /// Passes until graceful shutdown. A failed pass is logged and tried again at the next;
    /// nothing is lost by waiting (the payloads are erased a few minutes later).
    package func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    _ = try await eraseExpired()
                } catch {
                    // Store error descriptions carry no personal data.
                    logger.warning(
                        "Expired sealed payloads of rejections not erased; trying again later",
                        metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// One pass: erases every sealed payload of a message received `retention` or longer
    /// before `now`, and returns how many it erased.
    package func eraseExpired(now: Date = Date()) async throws(StorageError) -> Int {
        let cutoff = now.addingTimeInterval(-retention.inSeconds)
        var total = 0
        while true {
            let erased = try await store.eraseSealedPayloads(
                receivedBefore: cutoff, limit: Self.rowsPerTransaction, now: now)
            total += erased
            if erased > 0 { metrics.recordSealedPayloadsErased(erased) }
            // A store with a long history takes many transactions: a shutdown does not wait for
            // them (the rest is erased at the next pass). Without this the service group's
            // cancellation deadline ended the process with a crash.
            if erased < Self.rowsPerTransaction || Task.isCancelled { break }
        }
        if total > 0 {
            logger.notice(
                "Erased the sealed payloads of rejections past their retention", metadata: ["bridge.erased": "\(total)"]
            )
        }
        return total
    }
}
