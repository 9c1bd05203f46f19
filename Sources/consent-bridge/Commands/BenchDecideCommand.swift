import ArgumentParser
import ConsentBenchmarks
import ConsentConfiguration
import Logging

/// `consent-bridge bench decide`: CPU per event of the pipeline's decide stage alone.
struct BenchDecideCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decide",
        abstract: "Benchmark the pipeline's decide stage alone: decide, build and encode rows, one thread.",
        discussion: """
            The bridge benchmark's referrals (one consented patient in 64 each), decided against the
            consent view, built into their records (checked against their contracts) and encoded for
            the store, in the pipeline's batches of 500, without Kafka or a transaction. Prints the
            thread's CPU per event. Build with -c release.
            """
    )

    @Option(help: "Directory holding schemas/, examples/ and registry/.")
    var contracts = "Contracts"

    @Option(help: "Timed events.")
    var events = 100_000

    @Option(
        help:
            "Write the log as `run` does by default (info: a line per decision) in this format, `text` or `json`, to standard error (redirect it), so the figures include logging; default: errors only, as in earlier rounds."
    )
    var logFormat: LogSettings.Format?

    @Flag(
        help:
            "Print one JSON line (decide_us_per_event, prepare_us_per_event, events_per_cpu_s) alone on standard output; the report goes to standard error."
    )
    var json = false

    func run() async throws {
        LoggingBootstrap.bootstrap(benchmarkLogFormat: logFormat)
        let result = try await DecideBenchmark.run(
            contractsDirectory: contracts, events: max(1, events), logger: Logger(label: "bench"))
        ReadableOutput(json: json).line(result.report)
        if json { print(result.jsonLine) }
    }
}
