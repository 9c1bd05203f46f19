import Synchronization

/// When a task ended, for a test that must not wait for it without bound.
package final class StopWatch: Sendable {
    private let started = ContinuousClock.now
    private let ended = Mutex<ContinuousClock.Instant?>(nil)

    /// Starts timing now.
    package init() {}

    /// Notes that the task ended.
    package func finish() { ended.withLock { $0 = ContinuousClock.now } }

    /// From creation to `finish` (or to now, if not finished).
    package var elapsed: Duration { (ended.withLock { $0 } ?? ContinuousClock.now) - started }

    /// Whether `finish` was called within `limit` of creation.
    package func waitForFinish(within limit: Duration) async -> Bool {
        while ended.withLock({ $0 }) == nil, ContinuousClock.now - started < limit {
            try? await Task.sleep(for: .milliseconds(50))
        }
        return ended.withLock { $0 }.map { $0 - started < limit } ?? false
    }
}
