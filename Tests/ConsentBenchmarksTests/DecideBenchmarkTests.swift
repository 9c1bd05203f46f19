import ConsentBenchmarks
import ConsentBridgeTesting
import ConsentContracts
import Logging
import Testing

/// `bench decide` measures the path it claims (no timing assertions: numbers come from the command).
@Suite struct DecideBenchmarkTests {
    @Test func everyReferralIsForwardedSoTheForwardingPathIsWhatIsMeasured() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let result = try await DecideBenchmark.run(
            contractsDirectory: RepositoryPaths.contractsDirectory, events: 1_200, warmup: 100, batchSize: 500,
            logger: logger)
        // Three batches (500, 500, 200), every event decided once: a consent view or an IPS
        // agreement that did not hold would show here as rejections, not as a faster figure.
        #expect(result.events == 1_200)
        #expect(result.outcomes == ["forward": 1_200])
        #expect(result.decideMicroseconds > 0 && result.prepareMicroseconds > 0)
        let line = try StrictJSON.parse(result.jsonLine)
        #expect(line.objectValue?.keys.sorted() == ["decide_us_per_event", "events_per_cpu_s", "prepare_us_per_event"])
    }
}
