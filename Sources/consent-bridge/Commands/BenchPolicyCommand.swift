import ArgumentParser
import ConsentBenchmarks
import ConsentPolicy

/// `consent-bridge bench policy`: decisions/s and p50/p99 of parse + validate + decide.
struct BenchPolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Benchmark the consent policy: strict parse + schema validation + decide on ~1 KiB events, one core.",
        discussion: """
            The workload is built from Contracts/examples (a realistic mix of the IPS messages, bodies
            padded to about 1 KiB) for a population with mixed consents. Build with -c release.
            """
    )

    @Option(help: "Directory holding schemas/ and examples/.")
    var contracts = "Contracts"

    @Option(help: "Timed decisions.")
    var decisions = 300_000

    @Flag(
        help:
            "Print one JSON line (decisions_per_s, p50_us, p99_us) alone on standard output; the report goes to standard error."
    )
    var json = false

    func run() throws {
        var configuration = PolicyBenchmark.Configuration()
        configuration.decisions = max(1, decisions)
        configuration.warmup = min(configuration.warmup, configuration.decisions)
        let catalog = try PolicyCatalog.load(directory: contracts)
        let workload = try PolicyBenchmark.workload(
            catalog: catalog, contractsDirectory: contracts, configuration: configuration)
        let result = PolicyBenchmark.run(catalog: catalog, workload: workload, configuration: configuration)
        ReadableOutput(json: json).line(result.report)
        if json { print(result.jsonLine) }
    }
}
