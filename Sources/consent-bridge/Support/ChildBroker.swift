import ConsentBenchmarks
import ConsentBridge
import Foundation

/// `consent-bridge broker` started as a child process of this executable (benchmarks that keep
/// the broker's CPU and the network path apart from the measured process).
enum ChildBroker {
    /// Starts the broker and waits for its `bootstrap:` line.
    static func start(contracts: String, partitions: Int) async throws -> BridgeBenchmark.ExternalBroker {
        let (process, reader) = try Process.consentBridge([
            "broker", "--contracts", contracts, "--partitions", String(partitions), "--log-level", "error",
        ])
        let bootstrap: String? = await Task.detached {
            // The first line; the broker prints nothing else on stdout.
            var bootstrap: String?
            reader.readLines { line in
                if line.hasPrefix("bootstrap: ") { bootstrap = String(line.dropFirst("bootstrap: ".count)) }
                return false
            }
            return bootstrap
        }.value
        let stop: @Sendable () async -> Void = {
            process.terminate()
            await process.exited()
        }
        guard let bootstrap else {
            await stop()
            throw ChildBrokerError.noBootstrapLine
        }
        return BridgeBenchmark.ExternalBroker(bootstrapServers: bootstrap, stop: stop)
    }
}

/// Why the child broker could not be used.
enum ChildBrokerError: Error, CustomStringConvertible {
    case noBootstrapLine

    var description: String { "the child `consent-bridge broker` ended without printing its bootstrap address" }
}
