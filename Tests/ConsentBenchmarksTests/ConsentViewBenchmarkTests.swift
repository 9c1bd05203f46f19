import ConsentBenchmarks
import ConsentBridgeTesting
import Logging
import Testing

/// `bench consent-view` measures what it claims: every consent it writes is restored, and every
/// lookup finds that person's consent (no timing assertions: the numbers come from the command).
@Suite(.timeLimit(.minutes(3)))
struct ConsentViewBenchmarkTests {
    @Test func theRestoredViewHoldsEveryConsentWrittenAndTheCatchUpReadsEveryRecord() async throws {
        var logger = Logger(label: "consent-view-bench-test")
        logger.logLevel = .error
        let benchmark = ConsentViewBenchmark(
            consents: 3_000, catchUpRecords: 500, contractsDirectory: RepositoryPaths.contractsDirectory, logger: logger
        )
        let result = try await benchmark.run { storePath in
            try await ConsentViewBenchmark.restore(
                storePath: storePath, contractsDirectory: RepositoryPaths.contractsDirectory, lookups: 5_000,
                logger: logger)
        }
        #expect(result.consents == 3_000)
        #expect(result.restore.patients == 3_000, "the view restored from the store lost or invented persons")
        #expect(result.restore.rssMegabytes > 0 && result.restore.readySeconds > 0)
        #expect(result.catchUpRecords == 500 && result.catchUpSeconds > 0)
    }
}
