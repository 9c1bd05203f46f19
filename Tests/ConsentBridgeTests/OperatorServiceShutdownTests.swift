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
@Suite("Operator service and readiness at a stop", .timeLimit(.minutes(1)))
struct OperatorServiceShutdownTests {
    @Test("a graceful stop does not wait for a readiness pass held up by an unreachable cluster")
    func stopDoesNotWaitForAReadinessPass() async throws {
        let logger = Logger(label: "operator-shutdown-test") { _ in SwiftLogNoOpLogHandler() }
        let (passStarted, passStartedContinuation) = AsyncStream<Void>.makeStream()
        let passes = Mutex(0)
        // Like the gate's watermark query with the health cluster down: a call on a Kafka
        // client's own thread, which cancellation cannot interrupt, answering after 15 s.
        let clusterCheck: @Sendable () async -> String? = {
            passes.withLock { $0 += 1 }
            passStartedContinuation.yield()
            await withCheckedContinuation { continuation in
                DispatchQueue.global().asyncAfter(deadline: .now() + 15) { continuation.resume() }
            }
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

        let clock = ContinuousClock()
        let asked = clock.now
        await group.triggerGracefulShutdown()
        try await running.value
        let took = clock.now - asked
        // Before, the stop waited for the pass to end: 15 s here, 10–20 s with a cluster down.
        #expect(took < .seconds(5), "stopped after \(took)")
        #expect(passes.withLock { $0 } == 1)
    }

    @Test("readiness asks its checks at once, so a pass with two clusters down takes the longest wait, not their sum")
    func readinessChecksRunTogether() async throws {
        // Each check finds the other already running only when they run together; one after
        // another, the first waits its 5 s out and reports that it ran alone.
        let running = Mutex<Set<String>>([])
        func check(_ name: String, other: String) -> @Sendable () async -> String? {
            {
                running.withLock { _ = $0.insert(name) }
                let clock = ContinuousClock()
                let deadline = clock.now + .seconds(5)
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
