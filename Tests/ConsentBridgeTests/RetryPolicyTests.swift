import ConsentBridge
import ConsentKafka
import ConsentResilience
import ConsentStorage
import Logging
import Synchronization
import Testing

/// Infrastructure errors are retried until they clear; a fatal Kafka error is not (retrying
/// cannot clear it: the process must restart).
@Suite("Retry policy")
struct RetryPolicyTests {
    static let logger = Logger(label: "retry-test") { _ in SwiftLogNoOpLogHandler() }
    static let policy = RetryPolicy(initialDelay: .milliseconds(1), maximumDelay: .milliseconds(2))

    @Test("A retriable error is retried until the operation succeeds")
    func retriableErrorsAreRetried() async throws {
        let attempts = Mutex(0)
        let value = try await Self.policy.run("test", logger: Self.logger) { () async throws -> Int in
            let attempt = attempts.withLock {
                $0 += 1
                return $0
            }
            if attempt < 4 { throw KafkaError(code: .allBrokersDown, isRetriable: true, operation: "produce") }
            return attempt
        }
        #expect(value == 4)
    }

    @Test("A fatal Kafka error ends the retries at once and reaches the caller")
    func fatalErrorsAreNotRetried() async throws {
        let attempts = Mutex(0)
        let error = await #expect(throws: KafkaError.self) {
            _ = try await Self.policy.run("test", logger: Self.logger) { () async throws -> Int in
                attempts.withLock { $0 += 1 }
                throw KafkaError(code: .fatal, isFatal: true, operation: "produce", detail: "out of order sequence")
            }
        }
        #expect(error?.isFatal == true)
        #expect(attempts.withLock { $0 } == 1)
    }

    @Test(
        "A run that is failing is listed for readiness from its first failed attempt until it succeeds, with its error's code, never its text; runs of one name are told apart"
    )
    func failingRunsAreListedUntilTheySucceed() async throws {
        let status = RetryStatus()
        let policy = RetryPolicy(initialDelay: .milliseconds(1), maximumDelay: .milliseconds(2), status: status)
        let runs = Runs()
        func run(_ index: Int) -> Task<Void, any Error> {
            Task {
                try await policy.run("record batch", logger: Self.logger) {
                    runs.seen.withLock { $0.append(status.problems) }
                    guard runs.proceed.withLock({ $0[index] }) else {
                        throw StorageError(.queryFailed, "transaction on postgres store failed for 12848740088")
                    }
                }
            }
        }
        #expect(status.problems.isEmpty)
        let first = run(0)
        let second = run(1)
        try await Self.waitUntil { runs.seen.withLock { $0.count } >= 6 }
        #expect(status.problems == ["record batch: query-failed"])
        runs.proceed.withLock { $0[0] = true }
        try await first.value
        // The other run of the same name still fails: still listed.
        try await Task.sleep(for: .milliseconds(20))
        #expect(status.problems == ["record batch: query-failed"])
        runs.proceed.withLock { $0[1] = true }
        try await second.value
        #expect(status.problems.isEmpty)
        #expect(!runs.seen.withLock { $0 }.joined().contains { $0.contains("12848740088") })
    }

    /// Two runs' switches (whether their next attempt succeeds) and what each attempt saw.
    private final class Runs: Sendable {
        let proceed = Mutex([false, false])
        let seen = Mutex<[[String]]>([])
    }

    private static func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while !condition(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
    }
}
