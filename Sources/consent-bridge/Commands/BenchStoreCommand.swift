import ArgumentParser
import ConsentBenchmarks
import ConsentConfiguration
import ConsentStorage
import Foundation
import Logging

/// `consent-bridge bench store`: rows/s of the bridge's batch write at batch sizes 1, 100, 500, 1000.
struct BenchStoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Benchmark the bridge store's batch write (decision + disclosure + outbox + offsets).",
        discussion: """
            SQLite writes a new file in a temporary folder. PostgreSQL needs --postgres-url (or
            CONSENT_BRIDGE_BENCH_POSTGRES_URL / CONSENT_BRIDGE_TEST_POSTGRES_URL) for a role that may
            create databases: the benchmark runs in a new database that it drops afterwards.
            """
    )

    @Option(help: "Engine: sqlite or postgres.")
    var engine: SQLEngine = .sqlite

    @Option(help: "PostgreSQL server URL (postgres://user:password@host:port/database).")
    var postgresURL: String?

    @Option(
        help: "Comma-separated batch sizes (events per transaction).",
        transform: { text in
            let sizes = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw ValidationError("--batch-sizes takes positive whole numbers separated by commas, e.g. 1,500")
            }
            return sizes.compactMap { $0 }
        })
    var batchSizes: [Int] = StoreBenchmark.defaultBatchSizes

    @Option(help: "Minimum seconds per batch size.")
    var seconds: Double = 3

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() async throws {
        var logger = Logger(label: "consent-bridge.bench.store")
        logger.logLevel = .warning
        let environment = ProcessInfo.processInfo.environment
        let baseURL =
            self.postgresURL ?? environment[ConfigurationLayers.benchPostgresURLVariable]
            ?? environment["CONSENT_BRIDGE_TEST_POSTGRES_URL"]
        let text: String
        do throws(StorageError) {
            let results = try await StoreBenchmark.runScratch(
                engine: self.engine, postgresURL: baseURL, batchSizes: self.batchSizes, minimumSeconds: self.seconds,
                logger: logger)
            text =
                self.json
                ? try StoreBenchmark.json(results, engine: self.engine) + "\n"
                : StoreBenchmark.table(results, engine: self.engine)
        } catch {
            FileHandle.standardError.write(Data("bench store: \(error.message)\n".utf8))
            throw ExitCode.failure
        }
        print(text, terminator: "")
    }
}

extension SQLEngine: ExpressibleByArgument {}
