import ConsentBenchmarks
import ConsentBridge
import ConsentBridgeTesting
import Logging
import Testing

/// `bench bridge` asserts nothing itself, so its figures are only as good as its bookkeeping:
/// a run must see every offered event arrive, time each one, and time every withdrawal.
@Suite("Bridge benchmark bookkeeping (embedded broker)")
struct BridgeBenchmarkTests {
    @Test("a paced run delivers and times every event through both passthroughs and the bridge, and counts their CPU")
    func pacedRunMeasuresEveryEvent() async throws {
        let events = 60
        var logger = Logger(label: "bench-test")
        logger.logLevel = .error  // as `bench bridge` runs it: group joins and rebalances are not news here
        let result = try await BridgeBenchmark(
            events: events, rate: 300, contractsDirectory: RepositoryPaths.contractsDirectory, logger: logger
        ).run()
        #expect(result.passthroughLatency.count == events)
        #expect(result.bridgeLatency.count == events)
        #expect(result.withdrawalLatency.count == 20)
        // Paced at 300/s, 60 events take ~0.2 s to offer: neither system can report more.
        #expect(result.passthroughPerSecond > 0 && result.passthroughPerSecond < 400)
        #expect(result.bridgePerSecond > 0 && result.bridgePerSecond < 400)
        #expect(result.equalWorkPerSecond > 0 && result.equalWorkPerSecond < 400)
        // CPU is counted over each run (a run of 0.2 s cannot use more than 2 cores × its length).
        #expect(result.bridgeCPUMicrosecondsPerEvent > 0 && result.equalWorkCPUMicrosecondsPerEvent > 0)
        // Every decision is a committed SQLite transaction: the store's writes are counted.
        #expect((result.bridgeWrittenBytesPerEvent ?? 0) > 100)
        // The store's and the Kafka clients' threads are found by name and are part of the whole
        // (each counted in 10 ms ticks, so a run this short may show 0).
        let store = try #require(result.bridgeStoreThreadCPUMicrosecondsPerEvent)
        let kafka = try #require(result.bridgeKafkaThreadsCPUMicrosecondsPerEvent)
        #expect(store >= 0 && kafka >= 0)
        #expect(store + kafka <= result.bridgeCPUMicrosecondsPerEvent + 20 * 10_000 / Double(events))
        #expect((result.bridgeStages[.decide]?.items ?? 0) >= events)
    }

    @Test(
        "with --store postgres the bridge records every event in a throwaway PostgreSQL database",
        .enabled(if: TestDatabaseEngine.postgresURL != nil, Comment(rawValue: TestDatabaseEngine.skipMessage)))
    func postgresStoreRunMeasuresEveryEvent() async throws {
        let events = 40
        var logger = Logger(label: "bench-test")
        logger.logLevel = .error
        let result = try await BridgeBenchmark(
            events: events, rate: 300, contractsDirectory: RepositoryPaths.contractsDirectory,
            postgresBaseURL: TestDatabaseEngine.postgresURL, logger: logger
        ).run()
        #expect(result.bridgeLatency.count == events)
        #expect((result.bridgeStages[.record]?.items ?? 0) >= events)
    }
}
