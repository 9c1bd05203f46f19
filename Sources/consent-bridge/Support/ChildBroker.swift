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
            var line = Data()
            while let byte = try? reader.read(upToCount: 1), let first = byte.first, first != UInt8(ascii: "\n") {
                line.append(first)
            }
            let text = String(decoding: line, as: UTF8.self)
            return text.hasPrefix("bootstrap: ") ? String(text.dropFirst("bootstrap: ".count)) : nil
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
