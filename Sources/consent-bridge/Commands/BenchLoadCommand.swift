import ArgumentParser
import ConsentBenchmarks
import Foundation
import Logging

/// `consent-bridge bench load`: the load of one `bench bridge` run, in a process of its own
/// (started by `bench bridge`, not meant to be run by hand). It prints `begin` when the timed
/// part starts and `result: {json}` at the end, so that `bench bridge` counts its own process's
/// CPU for the system under test alone.
struct BenchLoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "The offered load and reader of one `bench bridge` run (started by `bench bridge`).",
        shouldDisplay: false)

    @Option(help: "The broker's bootstrap address.")
    var bootstrap: String

    @Option(help: "Events to offer.")
    var events: Int

    @Option(help: "Offer events at this many per second (default: all at once).")
    var rate: Int?

    @Option(help: "Contracts directory (the examples the events are made from).")
    var contracts: String = "Contracts"

    func run() async throws {
        LoggingBootstrap.bootstrap(level: .error)
        let load = BridgeBenchmarkLoad(
            bootstrapServers: bootstrap, events: events, rate: rate,
            workload: try BridgeBenchmarkWorkload(contractsDirectory: contracts), logger: Logger(label: "bench-load"))
        let result = try await load.run {
            print(ChildLoad.beginLine)
            fflush(nil)  // all streams: `stdout` itself is not concurrency-safe to name
        }
        print(ChildLoad.endLine)
        fflush(nil)
        print(ChildLoad.resultPrefix + String(decoding: try JSONEncoder().encode(result), as: UTF8.self))
        fflush(nil)
    }
}

/// `bench load` started as a child process of this executable.
enum ChildLoad {
    static let beginLine = "begin"
    static let endLine = "end"
    static let resultPrefix = "result: "

    /// Runs `bench load` against `bootstrap` and returns its result; `onBegin` and `onEnd` are
    /// called when the child starts and ends its timed part.
    static func run(
        bootstrap: String, events: Int, rate: Int?, contracts: String, onBegin: @escaping @Sendable () -> Void,
        onEnd: @escaping @Sendable () -> Void
    ) async throws -> BridgeBenchmarkLoadResult {
        let (process, reader) = try Process.consentBridge(
            ["bench", "load", "--bootstrap", bootstrap, "--events", String(events), "--contracts", contracts]
                + (rate.map { ["--rate", String($0)] } ?? []))
        // A run that never completes ends with an error instead of hanging: the child's own
        // watchdog closes its reader after max(120 s, events/200 s), and a Kafka client can hang
        // in closing (docs/kafka.md), so this one kills the child a minute after that.
        let deadline = Duration.seconds(max(120, events / 200) + 60)
        let watchdog = Task.detached {
            try await Task.sleep(for: deadline)
            guard process.isRunning else { return }
            FileHandle.standardError.write(
                Data("bench: the load child did not finish within \(deadline); stopping it\n".utf8))
            kill(process.processIdentifier, SIGKILL)
        }
        defer { watchdog.cancel() }
        // Read off the cooperative pool as lines arrive, so `begin` is seen when it is printed.
        let result: BridgeBenchmarkLoadResult? = await Task.detached {
            var result: BridgeBenchmarkLoadResult?
            reader.readLines { line in
                if line == beginLine {
                    onBegin()
                } else if line == endLine {
                    onEnd()
                } else if line.hasPrefix(resultPrefix) {
                    result = try? JSONDecoder().decode(
                        BridgeBenchmarkLoadResult.self, from: Data(line.dropFirst(resultPrefix.count).utf8))
                }
                return true
            }
            return result
        }.value
        await process.exited()
        guard let result, process.terminationStatus == 0 else {
            throw ChildLoadError(status: process.terminationStatus)
        }
        return result
    }
}

/// The child `bench load` ended without a result.
struct ChildLoadError: Error, CustomStringConvertible {
    var status: Int32
    var description: String {
        "the child `consent-bridge bench load` ended (status \(status)) without a result; its error is above"
    }
}
