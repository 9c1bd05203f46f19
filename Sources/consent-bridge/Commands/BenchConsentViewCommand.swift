import ArgumentParser
import ConsentBenchmarks
import ConsentBridge
import Foundation
import Logging

/// `consent-bridge bench consent-view`: the consent view with a national population.
struct BenchConsentViewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consent-view",
        abstract:
            "The consent view at scale: apply and persist N consents, restore them in a fresh process (ready time, memory, lookups/s), catch up from the topic.",
        discussion: """
            Synthetic persons (month + 80 fødselsnumre), one granted consent each, built from the consent \
            contract's example. The restore runs in a child process of this executable, so `rss_mb` is that \
            process's resident memory with the view ready. The catch-up part reads --catch-up records from the \
            embedded broker's consent topic (the mock broker keeps about 5 MiB per partition, so it runs at the \
            size it can hold and reports a rate). Build with -c release.
            """
    )

    @Option(help: "Consents (one per person).")
    var consents = 1_000_000

    @Option(help: "Records for the catch-up-from-the-topic part.")
    var catchUp = 20_000

    @Option(help: "Directory holding schemas/ and examples/.")
    var contracts = "Contracts"

    @Option(help: "Lookups timed after the restore.")
    var lookups = 2_000_000

    @Option(help: .private)
    var restoreFrom: String?

    @Flag(help: "One JSON line alone on standard output; the report goes to standard error.")
    var json = false

    func run() async throws {
        var logger = Logger(label: "bench-consent-view")
        logger.logLevel = .error
        if let restoreFrom {
            // The child: restore, measure, print one JSON line.
            let restore = try await ConsentViewBenchmark.restore(
                storePath: restoreFrom, contractsDirectory: contracts, lookups: lookups, logger: logger)
            print(String(decoding: try JSONEncoder().encode(restore), as: UTF8.self))
            return
        }
        let output = ReadableOutput(json: json)
        output.line("consent view: \(consents) consents … (allocator \(ProcessAllocator.name))")
        let contracts = self.contracts
        let lookups = self.lookups
        let result = try await ConsentViewBenchmark(
            consents: consents, catchUpRecords: catchUp, contractsDirectory: contracts, logger: logger
        ).run { storePath in
            try await Self.restoreInChild(storePath: storePath, contracts: contracts, lookups: lookups)
        }
        output.line(String(format: "  apply (parse, validate, version rule)  %10.0f consents/s", result.applyPerSecond))
        output.line(String(format: "  persist to the SQLite bridge store     %10.0f rows/s", result.writePerSecond))
        output.line(
            String(
                format:
                    "  ready from the store (fresh process)   %10.2f s for %d persons; RSS %.0f MB, heap %.0f MB (before opening: %.0f MB, heap %.0f MB)",
                result.restore.readySeconds, result.restore.patients, result.restore.rssMegabytes,
                result.restore.anonymousRSSMegabytes, result.restore.baselineRSSMegabytes,
                result.restore.baselineAnonymousRSSMegabytes))
        output.line(
            String(format: "  lookups, one thread                    %10.0f /s", result.restore.lookupsPerSecond))
        output.line(
            String(
                format: "  catch-up from the topic                %10.0f records/s (%d records in %.2f s)",
                result.catchUpPerSecond, result.catchUpRecords, result.catchUpSeconds))
        if json {
            let line: [String: Any] = [
                "benchmark": "consent-view", "consents": result.consents,
                "apply_per_s": result.applyPerSecond.rounded(), "write_per_s": result.writePerSecond.rounded(),
                "ready_s": (result.restore.readySeconds * 100).rounded() / 100,
                "rss_mb": result.restore.rssMegabytes.rounded(),
                "rss_anon_mb": result.restore.anonymousRSSMegabytes.rounded(),
                "baseline_rss_anon_mb": result.restore.baselineAnonymousRSSMegabytes.rounded(),
                "baseline_rss_mb": result.restore.baselineRSSMegabytes.rounded(),
                "lookups_per_s": result.restore.lookupsPerSecond.rounded(),
                "catch_up_records": result.catchUpRecords, "catch_up_per_s": result.catchUpPerSecond.rounded(),
                // The memory figures depend on it (the restore runs in a child of this executable).
                "allocator": ProcessAllocator.name,
            ]
            let data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }

    /// Runs `bench consent-view --restore-from PATH` as a child of this executable.
    static func restoreInChild(storePath: String, contracts: String, lookups: Int) async throws
        -> ConsentViewBenchmark.Restore
    {
        let (process, output) = try Process.consentBridge([
            "bench", "consent-view", "--restore-from", storePath, "--contracts", contracts, "--lookups",
            String(lookups),
        ])
        let data = await Task.detached { output.readDataToEndOfFile() }.value
        await process.exited()
        guard process.terminationStatus == 0 else {
            throw ValidationError("the restoring child process failed (exit \(process.terminationStatus))")
        }
        return try JSONDecoder().decode(ConsentViewBenchmark.Restore.self, from: data)
    }
}
