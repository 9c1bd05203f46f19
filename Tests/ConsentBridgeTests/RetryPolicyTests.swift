import ConsentBridge
import ConsentKafka
import ConsentResilience
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
}
