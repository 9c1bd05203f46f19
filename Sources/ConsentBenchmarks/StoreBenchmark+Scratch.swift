import ConsentBridgeTesting
import ConsentConfiguration
package import ConsentStorage
import Foundation
package import Logging

extension StoreBenchmark {
    /// Runs the benchmark in a throwaway store: a new SQLite file in a temporary folder, or a
    /// new PostgreSQL database beside `postgresURL` (dropped afterwards).
    package static func runScratch(
        engine: SQLEngine, postgresURL: String?, batchSizes: [Int] = defaultBatchSizes, minimumSeconds: Double,
        logger: Logger
    ) async throws(StorageError) -> [Result] {
        switch engine {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
                "consent-bench-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            return try await Self.run(
                location: .sqlite(path: folder.appendingPathComponent("bridge.sqlite").path),
                batchSizes: batchSizes, minimumSeconds: minimumSeconds, logger: logger)
        case .postgres:
            guard let postgresURL else {
                throw StorageError(
                    .invalidLocation, "PostgreSQL benchmark needs --postgres-url or CONSENT_BRIDGE_BENCH_POSTGRES_URL")
            }
            let url = try await PostgresScratchDatabase.create(baseURL: postgresURL, prefix: "bench", logger: logger)
            do {
                let results = try await Self.run(
                    location: try StoreLocation(parsing: url), batchSizes: batchSizes, minimumSeconds: minimumSeconds,
                    logger: logger)
                await PostgresScratchDatabase.drop(url: url, baseURL: postgresURL, logger: logger)
                return results
            } catch {
                await PostgresScratchDatabase.drop(url: url, baseURL: postgresURL, logger: logger)
                throw error
            }
        }
    }

    /// The results as one JSON object: `{"engine": …, "results": [...]}`.
    package static func json(_ results: [Result], engine: SQLEngine) throws(StorageError) -> String {
        struct Document: Encodable {
            var benchmark = "store"
            var engine: String
            var results: [Result]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            return String(
                decoding: try encoder.encode(Document(engine: engine.rawValue, results: results)), as: UTF8.self)
        } catch {
            throw StorageError(.invalidBatch, "benchmark results could not be encoded", cause: error)
        }
    }
}
