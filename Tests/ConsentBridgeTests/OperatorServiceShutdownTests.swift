import ConsentBridge
import ConsentConfiguration
import ConsentOperator
import Dispatch
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// The operator service at a graceful stop. The process has 30 s to stop (a container's
/// default) and every service stops in turn, so time spent here is time the others lose.
@Suite("Operator service and readiness at a stop", .timeLimit(.minutes(3)))
struct OperatorServiceShutdownTests {
    @Test("a graceful stop does not wait for a readiness pass held up by an unreachable cluster")
    func stopDoesNotWaitForAReadinessPass() async throws {
        let logger = Logger(label: "operator-shutdown-test") { _ in SwiftLogNoOpLogHandler() }
        let (passStarted, passStartedContinuation) = AsyncStream<Void>.makeStream()
        let passEnded = Mutex(false)
        let clusterAnswers = DispatchSemaphore(value: 0)
        // Like the gate's watermark query with the health cluster down: a call on a Kafka
        // client's own thread, which cancellation cannot interrupt. It answers when the test
        // says so, or after 120 s (what a service that waits for it would wait; with 30 s the
        // stop once came after it, with every suite of the full run started at once).
        let clusterCheck: @Sendable () async -> String? = {
            passStartedContinuation.yield()
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    _ = clusterAnswers.wait(timeout: .now() + 120)
                    continuation.resume()
                }
            }
            passEnded.withLock { $0 = true }
            return "health Kafka cluster unreachable"
        }
        let service = OperatorService(
            address: HTTPListenAddress(host: "127.0.0.1", port: 0),
            dependencies: .init(
                readiness: BridgeReadiness(checks: [clusterCheck]), metrics: BridgeMetrics(), store: nil,
                redrive: nil, topics: .defaults, tokens: OperatorTokens(OperatorAccess())),
            logger: logger)
        let group = ServiceGroup(configuration: .init(services: [service], logger: logger))
        let running = Task { try await group.run() }
        for await _ in passStarted { break }

        await group.triggerGracefulShutdown()
        try await running.value
        // Judged by order, not by time (the full parallel suite can starve any timing): the
        // service stopped while the pass still waited for the cluster. Before, it waited for the
        // pass to end (10–20 s with a cluster down).
        #expect(!passEnded.withLock { $0 }, "the service waited for the readiness pass before it stopped")
        clusterAnswers.signal()
    }

    @Test("readiness asks its checks at once, so a pass with two clusters down takes the longest wait, not their sum")
    func readinessChecksRunTogether() async throws {
        // Each check finds the other already running only when they run together; one after
        // another, the first waits its 30 s out and reports that it ran alone.
        let running = Mutex<Set<String>>([])
        func check(_ name: String, other: String) -> @Sendable () async -> String? {
            {
                running.withLock { _ = $0.insert(name) }
                let clock = ContinuousClock()
                let deadline = clock.now + .seconds(30)
                while clock.now < deadline {
                    if running.withLock({ $0.contains(other) }) { return "\(name) cluster unreachable" }
                    try? await Task.sleep(for: .milliseconds(10))
                }
                return "\(name) ran alone"
            }
        }
        let readiness = BridgeReadiness(checks: [check("health", other: "nav"), check("nav", other: "health")])
        #expect(await readiness.problems() == ["health cluster unreachable", "nav cluster unreachable"])
    }
}
